-- yunjian schema, version 10: the provider interface (guide 3.2, 5.1.5, 7.1.5, 7.5.7,
-- 7.5.10.6; docs/decisions/0011-provider-sync.md). Snapshots are staged in chunks and
-- committed whole; each commit leaves resource change records; the management unit maps
-- providers' projects to tenants; connectors report their health; approved images are
-- registered with their digests; usage is sampled per provider, tenant and zone.

-- Which tenant owns a provider's project. Objects of unmapped projects are set aside
-- (provider_unassigned), never dropped.
CREATE TABLE provider_projects (
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    project TEXT NOT NULL,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    mapped_by @INT@ REFERENCES accounts(id),
    mapped_at_ns @INT@ NOT NULL,
    PRIMARY KEY (provider_id, project)
);

-- One inventory snapshot, pushed or pulled. The provider's request id makes opening it
-- idempotent; chunks are staged until the commit applies them all or nothing.
CREATE TABLE provider_syncs (
    id @ID@,
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    request_id TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    origin TEXT NOT NULL CHECK (origin IN ('push', 'pull')),
    state TEXT NOT NULL CHECK (state IN ('open', 'committed', 'refused')),
    opened_by @INT@ REFERENCES accounts(id),
    opened_at_ns @INT@ NOT NULL,
    finished_at_ns @INT@,
    objects @INT@ NOT NULL DEFAULT 0,
    created @INT@ NOT NULL DEFAULT 0,
    changed @INT@ NOT NULL DEFAULT 0,
    deleted @INT@ NOT NULL DEFAULT 0,
    unchanged @INT@ NOT NULL DEFAULT 0,
    unassigned @INT@ NOT NULL DEFAULT 0,
    -- SM3 over the chunks' digests in order: what was applied.
    digest TEXT,
    -- Why a commit was refused, as JSON [{index, kind, external_id, field, code, reason}].
    problems TEXT,
    UNIQUE (provider_id, request_id)
);
CREATE INDEX provider_syncs_provider_idx ON provider_syncs (provider_id, opened_at_ns);

CREATE TABLE provider_sync_chunks (
    sync_id @INT@ NOT NULL REFERENCES provider_syncs(id),
    seq @INT@ NOT NULL,
    objects @INT@ NOT NULL,
    digest TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at_ns @INT@ NOT NULL,
    PRIMARY KEY (sync_id, seq)
);

-- What each commit changed (7.5.10.6), kept at least as long as the audit records.
CREATE TABLE resource_changes (
    id @ID@,
    sync_id @INT@ NOT NULL REFERENCES provider_syncs(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    tenant_id @INT@,
    kind TEXT NOT NULL,
    object_id @INT@ NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    change TEXT NOT NULL CHECK (change IN ('created', 'changed', 'deleted')),
    -- created/deleted: the values; changed: {field: {"from", "to"}}.
    detail TEXT NOT NULL,
    at_ns @INT@ NOT NULL
);
CREATE INDEX resource_changes_tenant_idx ON resource_changes (tenant_id, at_ns);
CREATE INDEX resource_changes_object_idx ON resource_changes (kind, object_id, at_ns);
CREATE INDEX resource_changes_provider_idx ON resource_changes (provider_id, at_ns);

-- Objects a provider reported that no tenant owns yet; replaced at each commit.
CREATE TABLE provider_unassigned (
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    project TEXT,
    reason TEXT NOT NULL,
    sync_id @INT@ NOT NULL REFERENCES provider_syncs(id),
    PRIMARY KEY (provider_id, kind, external_id)
);

-- Pull connectors the management unit configured for a provider.
CREATE TABLE provider_connectors (
    id @ID@,
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    kind TEXT NOT NULL CHECK (kind IN ('openstack', 'kubernetes', 'prometheus')),
    endpoint TEXT NOT NULL,
    -- Non-secret settings as JSON (user, project, region, zone, datacenter).
    settings TEXT NOT NULL,
    -- The password or token, sealed with SM4-GCM under the store's sealing key.
    secret TEXT,
    interval_s @INT@ NOT NULL,
    enabled @INT@ NOT NULL,
    created_by @INT@ REFERENCES accounts(id),
    created_at_ns @INT@ NOT NULL
);

-- Each connector's (and each provider's push) health, for 5.1.5.
CREATE TABLE connector_health (
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    connector TEXT NOT NULL,
    last_attempt_at_ns @INT@,
    last_success_at_ns @INT@,
    latency_ms @REAL@,
    last_error TEXT,
    failures @INT@ NOT NULL DEFAULT 0,
    next_attempt_at_ns @INT@,
    objects @INT@ NOT NULL DEFAULT 0,
    PRIMARY KEY (provider_id, connector)
);

-- Approved images and templates (7.5.7): their SM3 and the provider's own hash. An
-- image whose digest matches no approved entry is unknown; an entry is revoked, never
-- deleted.
CREATE TABLE image_registry (
    id @ID@,
    provider_id @INT@ REFERENCES providers(id),
    name TEXT NOT NULL,
    os TEXT,
    sm3_digest TEXT,
    provider_digest TEXT,
    note TEXT,
    approved_by @INT@ REFERENCES accounts(id),
    approved_at_ns @INT@ NOT NULL,
    revoked_by @INT@ REFERENCES accounts(id),
    revoked_at_ns @INT@,
    CHECK (sm3_digest IS NOT NULL OR provider_digest IS NOT NULL)
);
CREATE INDEX image_registry_sm3_idx ON image_registry (sm3_digest);
CREATE INDEX image_registry_provider_digest_idx ON image_registry (provider_digest);

-- Usage per provider, tenant and zone over time (7.1.5, 8.3.2): allocation from the
-- inventory at each commit, utilization from providers' metrics.
CREATE TABLE usage_samples (
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    tenant_id @INT@,
    zone_id @INT@,
    metric TEXT NOT NULL,
    at_ns @INT@ NOT NULL,
    value @REAL@ NOT NULL
);
CREATE INDEX usage_samples_idx ON usage_samples (provider_id, tenant_id, metric, at_ns);
CREATE INDEX usage_samples_tenant_idx ON usage_samples (tenant_id, at_ns);
