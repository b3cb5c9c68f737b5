-- yunjian schema, version 7: security events (guide 7.3.1.2, 8.3.6). The API monitor
-- writes them now; the security event centre (a later issue) adds other sources.
CREATE TABLE security_events (
    id @ID@,
    at_ns @INT@ NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high')),
    summary TEXT NOT NULL,
    -- Whom it concerns: the acting account and its tenant or provider, so a tenant
    -- sees the events about its own accounts.
    account_id @INT@ REFERENCES accounts(id),
    username TEXT,
    tenant_id @INT@ REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    source_address TEXT,
    first_at_ns @INT@ NOT NULL,
    last_at_ns @INT@ NOT NULL,
    -- The audit records it was found in: [first_seq, last_seq].
    first_seq @INT@,
    last_seq @INT@,
    event_count @INT@ NOT NULL,
    -- One event per finding: the monitor runs every minute over overlapping windows.
    dedupe_key TEXT NOT NULL UNIQUE
);
CREATE INDEX security_events_tenant_idx ON security_events (tenant_id, at_ns);
CREATE INDEX security_events_at_idx ON security_events (at_ns);
