-- yunjian schema, version 2: the audit ledger (docs/audit-ledger.md).
--
-- Audit records become the leaves of an append-only Merkle log: `seq` is the leaf index
-- (dense from 0, assigned under the ledger head's lock), `line` the canonical leaf bytes,
-- `leaf_hash` H(0x00 || line). Hashes are lowercase hex. Version 1's records were not in
-- a ledger and predate any deployment; they are dropped (docs/decisions/0005).
DROP TABLE audit_records;
-- The line is the record (its fields are not repeated in columns, which halved what an
-- append writes); the columns here are the ones queries filter on.
CREATE TABLE audit_records (
    seq @INT@ PRIMARY KEY CHECK (seq >= 0),
    at_ns @INT@ NOT NULL,
    actor_username TEXT,
    action TEXT NOT NULL,
    object_kind TEXT,
    object_id @INT@,
    tenant_id @INT@,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'denied', 'failed')),
    -- NULL once the record is archived and pruned; the leaf hash stays for proofs.
    line TEXT,
    leaf_hash TEXT NOT NULL,
    archive_id @INT@
);
CREATE INDEX audit_records_at_ns_idx ON audit_records (at_ns);
CREATE INDEX audit_records_tenant_idx ON audit_records (tenant_id, seq);
CREATE INDEX audit_records_actor_idx ON audit_records (actor_username, seq);
CREATE INDEX audit_records_action_idx ON audit_records (action, seq);

-- The one row every appender locks: the log's size and its frontier (the hashes of the
-- perfect subtrees of [0, size), largest first, concatenated hex).
CREATE TABLE ledger_head (
    id @INT@ PRIMARY KEY CHECK (id = 1),
    hash_algorithm TEXT NOT NULL CHECK (hash_algorithm IN ('sm3', 'sha256')),
    origin TEXT NOT NULL,
    size @INT@ NOT NULL CHECK (size >= 0),
    frontier TEXT NOT NULL
);

-- Every perfect subtree of level >= 1 (level 0 is audit_records.leaf_hash).
CREATE TABLE ledger_nodes (
    level @INT@ NOT NULL CHECK (level >= 1),
    idx @INT@ NOT NULL CHECK (idx >= 0),
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The keys that sign checkpoints; the private key sealed with SM4-GCM under a key that
-- is not in the database.
CREATE TABLE ledger_keys (
    id @ID@,
    name TEXT NOT NULL,
    verifier_key TEXT NOT NULL UNIQUE,
    sealed_secret TEXT NOT NULL,
    created_at_ns @INT@ NOT NULL,
    retired_at_ns @INT@
);

-- Every signed checkpoint is kept.
CREATE TABLE ledger_checkpoints (
    size @INT@ PRIMARY KEY CHECK (size >= 0),
    root TEXT NOT NULL,
    at_ns @INT@ NOT NULL,
    key_id @INT@ NOT NULL REFERENCES ledger_keys (id),
    note TEXT NOT NULL
);
CREATE INDEX ledger_checkpoints_at_ns_idx ON ledger_checkpoints (at_ns);

-- Archive bundles written (7.5.10.2 "archived and marked"); records before `to_seq`
-- may be pruned only once their bundle is recorded here.
CREATE TABLE ledger_archives (
    id @ID@,
    from_seq @INT@ NOT NULL,
    to_seq @INT@ NOT NULL,
    before_ns @INT@ NOT NULL,
    checkpoint_size @INT@ NOT NULL,
    bundle_sm3 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    created_at_ns @INT@ NOT NULL,
    pruned_at_ns @INT@,
    CHECK (from_seq <= to_seq AND to_seq <= checkpoint_size)
);
