-- yunjian schema, version 9: the provider's own id of each object a provider reports,
-- unique per provider and kind where present (docs/decisions/0010): pushed and pulled
-- inventories refer to objects by it. Objects entered by hand have none.
ALTER TABLE datacenters ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX datacenters_external_id_idx ON datacenters (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE hosts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX hosts_external_id_idx ON hosts (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE vpcs ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX vpcs_external_id_idx ON vpcs (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE subnets ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX subnets_external_id_idx ON subnets (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE vms ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX vms_external_id_idx ON vms (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE volumes ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX volumes_external_id_idx ON volumes (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE snapshots ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX snapshots_external_id_idx ON snapshots (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE backups ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX backups_external_id_idx ON backups (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE images ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX images_external_id_idx ON images (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE security_groups ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX security_groups_external_id_idx ON security_groups (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE security_group_rules ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX security_group_rules_external_id_idx ON security_group_rules (provider_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE paas_instances ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX paas_instances_external_id_idx ON paas_instances (provider_id, external_id) WHERE external_id IS NOT NULL;
