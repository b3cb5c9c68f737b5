-- yunjian schema, version 8: the compliance engine (guide 6, 7, 8). Runs and their
-- results are kept so trends and differences between runs can be shown; evidence,
-- waivers, custom controls and responsibility overrides are never deleted: withdrawal,
-- rejection, revocation and retirement are states with who and when.
CREATE TABLE compliance_runs (
    id @ID@,
    started_at_ns @INT@ NOT NULL,
    finished_at_ns @INT@ NOT NULL,
    run_trigger TEXT NOT NULL CHECK (run_trigger IN ('schedule', 'manual')),
    requested_by @INT@ REFERENCES accounts(id),
    catalog_version TEXT NOT NULL,
    -- The parameter values the run used, as JSON {key: value}.
    parameters TEXT NOT NULL,
    resources @INT@ NOT NULL,
    controls @INT@ NOT NULL,
    -- Controls that failed to run, as JSON [[id, message]].
    control_errors TEXT NOT NULL,
    load_ms @REAL@ NOT NULL,
    evaluate_ms @REAL@ NOT NULL,
    -- Counts per status of the platform's rows and of all rows, as JSON.
    summary TEXT NOT NULL
);
CREATE INDEX compliance_runs_started_idx ON compliance_runs (started_at_ns);

CREATE TABLE compliance_results (
    run_id @INT@ NOT NULL REFERENCES compliance_runs(id),
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('platform', 'provider', 'tenant', 'system')),
    scope_id @INT@ NOT NULL,
    clause_id TEXT NOT NULL,
    -- Owners, for scoped reads (a tenant reads its own and its systems' rows).
    tenant_id @INT@,
    provider_id @INT@,
    status TEXT NOT NULL CHECK (status IN ('FAIL', 'ERROR', 'MANUAL', 'PASS', 'ATTESTED',
        'INHERITED', 'WAIVED', 'NOT_APPLICABLE')),
    responsible TEXT NOT NULL,
    must_act TEXT NOT NULL,
    message_zh TEXT NOT NULL,
    message_en TEXT NOT NULL,
    -- Basis, control outcomes with their evidence, waiver, expiry notes, as JSON.
    detail TEXT NOT NULL,
    PRIMARY KEY (run_id, scope_kind, scope_id, clause_id)
);
CREATE INDEX compliance_results_tenant_idx ON compliance_results (run_id, tenant_id);
CREATE INDEX compliance_results_provider_idx ON compliance_results (run_id, provider_id);
CREATE INDEX compliance_results_clause_idx ON compliance_results (run_id, clause_id);

-- Evidence for a clause and scope (a file kept with its SM3 digest); approved by a
-- second person it attests the clause until it expires.
CREATE TABLE compliance_evidence (
    id @ID@,
    clause_id TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('platform', 'provider', 'tenant', 'system')),
    scope_id @INT@ NOT NULL,
    tenant_id @INT@ REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes @INT@ NOT NULL CHECK (size_bytes >= 0),
    sm3 TEXT NOT NULL,
    -- The file, base64 (one portable column type for both backends).
    content TEXT NOT NULL,
    observed_on TEXT NOT NULL,
    note TEXT NOT NULL,
    valid_until_ns @INT@ NOT NULL,
    submitted_by @INT@ NOT NULL REFERENCES accounts(id),
    submitted_at_ns @INT@ NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected', 'withdrawn')),
    decided_by @INT@ REFERENCES accounts(id),
    decided_at_ns @INT@,
    decision_note TEXT,
    CHECK (valid_until_ns > submitted_at_ns),
    -- A second person decides.
    CHECK (decided_by IS NULL OR decided_by <> submitted_by)
);
CREATE INDEX compliance_evidence_scope_idx ON compliance_evidence (scope_kind, scope_id, clause_id);

CREATE TABLE compliance_waivers (
    id @ID@,
    clause_id TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('platform', 'provider', 'tenant', 'system')),
    scope_id @INT@ NOT NULL,
    tenant_id @INT@ REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    justification TEXT NOT NULL,
    expires_at_ns @INT@ NOT NULL,
    requested_by @INT@ NOT NULL REFERENCES accounts(id),
    requested_at_ns @INT@ NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'revoked')),
    decided_by @INT@ REFERENCES accounts(id),
    decided_at_ns @INT@,
    decision_note TEXT,
    CHECK (expires_at_ns > requested_at_ns),
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX compliance_waivers_scope_idx ON compliance_waivers (scope_kind, scope_id, clause_id);

-- Custom controls (Rego), versioned: an upload of an existing id is its next version;
-- the newest unretired version runs.
CREATE TABLE compliance_controls (
    id @ID@,
    control_id TEXT NOT NULL,
    version @INT@ NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    clauses TEXT NOT NULL,
    kinds TEXT NOT NULL,
    source TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    created_by @INT@ NOT NULL REFERENCES accounts(id),
    created_at_ns @INT@ NOT NULL,
    retired_by @INT@ REFERENCES accounts(id),
    retired_at_ns @INT@,
    UNIQUE (control_id, version)
);

-- A contract's different division of responsibility (6.2.2).
CREATE TABLE responsibility_overrides (
    id @ID@,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ REFERENCES providers(id),
    component TEXT NOT NULL,
    parties TEXT NOT NULL,
    contract_ref TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by @INT@ NOT NULL REFERENCES accounts(id),
    created_at_ns @INT@ NOT NULL,
    revoked_by @INT@ REFERENCES accounts(id),
    revoked_at_ns @INT@
);

-- The deployment's parameter values (the catalog's floors apply to any not set).
CREATE TABLE compliance_parameters (
    parameter TEXT PRIMARY KEY,
    value @REAL@ NOT NULL,
    set_by @INT@ NOT NULL REFERENCES accounts(id),
    set_at_ns @INT@ NOT NULL
);
