-- yunjian schema, version 14: what container micro-segmentation (guide 5.4.3) reads of
-- a pod besides its images: its labels and its namespace's labels (which NetworkPolicy
-- selectors match, as "key=value") and its addresses (which ipBlocks match).

ALTER TABLE container_workloads ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE container_workloads ADD COLUMN namespace_labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE container_workloads ADD COLUMN ip_addresses TEXT NOT NULL DEFAULT '[]';
