-- yunjian schema, version 12: the security event centre (guide 7.1.4, 7.1.6, 7.2.2.5,
-- 7.2.3, 7.2.4.8, 7.5.10, 8.3.8, 8.3.9, 8.3.12; docs/decisions/0012-event-centre.md).
-- Raw events are many and kept >= 6 months, then archived; alerts are what rules found;
-- incidents group alerts and carry the GB/T 20985.1 workflow.

-- A registered sender: a device of a security resource pool, a host, a cloud platform.
CREATE TABLE event_sources (
    id @ID@,
    name TEXT NOT NULL UNIQUE,
    -- The address its syslog comes from (the key unknown senders are counted by).
    address TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('firewall', 'ips', 'ids', 'waf', 'antivirus',
        'bastion', 'host', 'cloud_platform')),
    provider_id @INT@ REFERENCES providers(id),
    zone_id @INT@ REFERENCES zones(id),
    -- Set when the device serves one tenant only (a dedicated firewall, a tenant's host).
    tenant_id @INT@ REFERENCES tenants(id),
    enabled @INT@ NOT NULL DEFAULT 1,
    created_by @INT@ REFERENCES accounts(id),
    created_at_ns @INT@ NOT NULL,
    last_seen_ns @INT@,
    -- The latest measured clock skew (source time - server time) and its event count.
    last_skew_ns @INT@,
    events @INT@ NOT NULL DEFAULT 0
);

-- Senders not registered: counted and flagged, their events still kept.
CREATE TABLE event_unknown_senders (
    address TEXT PRIMARY KEY,
    first_seen_ns @INT@ NOT NULL,
    last_seen_ns @INT@ NOT NULL,
    events @INT@ NOT NULL,
    sample TEXT NOT NULL
);

-- Normalized events (7.5.10.5). The tenant columns carry what the inventory resolved:
-- `tenant_id` is the affected tenant (the destination's, else the source's, else the
-- sender's dedicated tenant), `other_tenant_id` the far side of a cross-tenant flow.
-- World ids (VPC, VM, system) are not foreign keys: an event outlives a deleted VM.
CREATE TABLE events (
    id @ID@,
    received_ns @INT@ NOT NULL,
    source_time_ns @INT@,
    source_id @INT@ REFERENCES event_sources(id),
    sender TEXT,
    transport TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls', 'http', 'file')),
    format TEXT NOT NULL,
    device TEXT,
    class TEXT NOT NULL,
    family TEXT,
    detector TEXT,
    src_ip TEXT,
    src_port @INT@,
    dst_ip TEXT,
    dst_port @INT@,
    protocol TEXT,
    username TEXT,
    action TEXT,
    outcome TEXT,
    rule TEXT,
    rule_id TEXT,
    severity @INT@,
    message TEXT NOT NULL,
    raw TEXT NOT NULL,
    extra TEXT,
    gbz2007 TEXT NOT NULL,
    gbt2023 TEXT NOT NULL,
    provider_id @INT@,
    zone_id @INT@,
    tenant_id @INT@,
    other_tenant_id @INT@,
    src_vpc_id @INT@,
    src_vm_id @INT@,
    dst_vpc_id @INT@,
    dst_vm_id @INT@,
    system_id @INT@,
    dst_country TEXT
);
CREATE INDEX events_received_idx ON events (received_ns);
CREATE INDEX events_tenant_idx ON events (tenant_id, received_ns);
CREATE INDEX events_other_tenant_idx ON events (other_tenant_id, received_ns);
CREATE INDEX events_provider_idx ON events (provider_id, received_ns);

-- Administrators' Sigma rules, versioned: a change adds a version, never rewrites one.
CREATE TABLE detection_rules (
    id @ID@,
    rule_key TEXT NOT NULL,
    version @INT@ NOT NULL,
    title TEXT NOT NULL,
    yaml TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    enabled @INT@ NOT NULL,
    created_by @INT@ REFERENCES accounts(id),
    created_at_ns @INT@ NOT NULL,
    UNIQUE (rule_key, version)
);

-- Incidents (8.3.9, 8.3.12): alerts grouped by attacker, target and chain, classified
-- and graded, handled through GB/T 20985.1's phases.
CREATE TABLE incidents (
    id @ID@,
    opened_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    -- Open incidents are found again by this key; closing one frees it.
    group_key TEXT,
    title TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('reported', 'assessing', 'responding',
        'lessons', 'closed')),
    severity TEXT NOT NULL,
    incident_class TEXT NOT NULL,
    gbz2007 TEXT NOT NULL,
    gbt2023 TEXT NOT NULL,
    grade TEXT NOT NULL CHECK (grade IN ('I', 'II', 'III', 'IV')),
    importance TEXT NOT NULL,
    loss TEXT NOT NULL,
    impact TEXT NOT NULL,
    grade_reason TEXT,
    tenant_id @INT@ REFERENCES tenants(id),
    other_tenant_id @INT@ REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    zone_id @INT@,
    system_id @INT@,
    attacker TEXT,
    target TEXT,
    key_tenant @INT@ NOT NULL DEFAULT 0,
    assignee TEXT NOT NULL CHECK (assignee IN ('tenant', 'provider', 'unit')),
    assignee_account_id @INT@ REFERENCES accounts(id),
    alerts @INT@ NOT NULL DEFAULT 0,
    last_alert_ns @INT@ NOT NULL,
    UNIQUE (group_key)
);
CREATE INDEX incidents_tenant_idx ON incidents (tenant_id, updated_at_ns);
CREATE INDEX incidents_updated_idx ON incidents (updated_at_ns);

-- What a rule found in an event.
CREATE TABLE alerts (
    id @ID@,
    at_ns @INT@ NOT NULL,
    rule_key TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    incident_class TEXT NOT NULL,
    gbz2007 TEXT NOT NULL,
    gbt2023 TEXT NOT NULL,
    event_id @INT@ REFERENCES events(id),
    group_fields TEXT,
    aggregated @REAL@,
    tenant_id @INT@ REFERENCES tenants(id),
    other_tenant_id @INT@ REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    zone_id @INT@,
    system_id @INT@,
    attacker TEXT,
    target TEXT,
    incident_id @INT@ NOT NULL REFERENCES incidents(id)
);
CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, at_ns);
CREATE INDEX alerts_at_idx ON alerts (at_ns);
CREATE INDEX alerts_incident_idx ON alerts (incident_id);

-- An incident's timeline: alerts joined, phase changes, re-grading, assignment, notes,
-- evidence, notifications, reports.
CREATE TABLE incident_entries (
    id @ID@,
    incident_id @INT@ NOT NULL REFERENCES incidents(id),
    at_ns @INT@ NOT NULL,
    account_id @INT@ REFERENCES accounts(id),
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'alert', 'phase', 'grade', 'assign',
        'note', 'evidence', 'notified', 'report')),
    text TEXT NOT NULL,
    data TEXT
);
CREATE INDEX incident_entries_idx ON incident_entries (incident_id, id);

-- Per tenant: key-tenant monitoring (7.1.6) and where notifications go.
CREATE TABLE event_tenant_settings (
    tenant_id @INT@ PRIMARY KEY REFERENCES tenants(id),
    key_tenant @INT@ NOT NULL DEFAULT 0,
    webhook_url TEXT,
    -- SM4-sealed HMAC key for the webhook's signature; never answered.
    webhook_secret TEXT,
    updated_by @INT@ REFERENCES accounts(id),
    updated_at_ns @INT@ NOT NULL
);

-- Notifications to the console and to webhooks; a failed delivery is retried.
CREATE TABLE notifications (
    id @ID@,
    at_ns @INT@ NOT NULL,
    incident_id @INT@ NOT NULL REFERENCES incidents(id),
    -- NULL: the management unit.
    tenant_id @INT@ REFERENCES tenants(id),
    channel TEXT NOT NULL CHECK (channel IN ('console', 'webhook')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts @INT@ NOT NULL DEFAULT 0,
    next_attempt_ns @INT@,
    last_error TEXT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX notifications_tenant_idx ON notifications (tenant_id, id);
CREATE INDEX notifications_pending_idx ON notifications (state, next_attempt_ns);

-- Months moved out of `events` into compressed files (7.1.4: >= 6 months online first).
CREATE TABLE event_archives (
    id @ID@,
    month TEXT NOT NULL UNIQUE,
    first_id @INT@ NOT NULL,
    last_id @INT@ NOT NULL,
    events @INT@ NOT NULL,
    path TEXT NOT NULL,
    bytes @INT@ NOT NULL,
    sm3 TEXT NOT NULL,
    created_at_ns @INT@ NOT NULL,
    restored_at_ns @INT@
);
