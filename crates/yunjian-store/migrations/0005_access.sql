-- yunjian schema, version 5: three-role separation per person, step-up, tenant
-- authorizations (guide 7.2.5.5) and temporary privileges (7.5.3.5).

-- The natural person behind an account (a staff number or the like). The three roles of
-- 三员分立 are never the same person (7.5.3.6): one person holds at most one account of
-- those roles, whatever later assignments try. Accounts made before this version are
-- each taken to be a different person.
ALTER TABLE accounts ADD COLUMN person_id TEXT;
UPDATE accounts SET person_id = 'account:' || username;
CREATE UNIQUE INDEX accounts_separated_person_idx ON accounts (person_id)
    WHERE role IN ('system_admin', 'security_admin', 'security_auditor');

-- When the session's holder last proved a second factor (login with a code, or a
-- step-up): sensitive actions want it within the last five minutes.
ALTER TABLE sessions ADD COLUMN stepped_up_at_ns @INT@;

-- A tenant administrator's authorization for a provider's operators to act on the
-- tenant's resources (7.2.5.5). Never deleted: revocation and expiry are states.
CREATE TABLE tenant_authorizations (
    id @ID@,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    -- JSON array of object kinds (e.g. ["vm","snapshot"]) the authorization covers.
    kinds TEXT NOT NULL,
    -- JSON array of object ids it is limited to; '[]' means every object of the kinds.
    object_ids TEXT NOT NULL,
    -- JSON array of actions: "create", "update", "delete".
    actions TEXT NOT NULL,
    reason TEXT NOT NULL,
    starts_at_ns @INT@ NOT NULL,
    expires_at_ns @INT@ NOT NULL,
    granted_by @INT@ NOT NULL REFERENCES accounts(id),
    granted_at_ns @INT@ NOT NULL,
    revoked_by @INT@ REFERENCES accounts(id),
    revoked_at_ns @INT@,
    revoke_reason TEXT,
    -- When the reaper recorded the expiry in the ledger (once).
    expiry_recorded_at_ns @INT@,
    -- At most 90 days (7.2.5.5 as this project reads it: authorizations are temporary).
    CHECK (expires_at_ns > starts_at_ns AND expires_at_ns - starts_at_ns <= 7776000000000000)
);
CREATE INDEX tenant_authorizations_tenant_idx ON tenant_authorizations (tenant_id, expires_at_ns);
CREATE INDEX tenant_authorizations_provider_idx ON tenant_authorizations (provider_id, expires_at_ns);

-- Temporary privileges (7.5.3.5): requested, approved by a different security
-- administrator, expiring within three months. Never deleted.
CREATE TABLE temporary_privileges (
    id @ID@,
    account_id @INT@ NOT NULL REFERENCES accounts(id),
    privilege TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by @INT@ NOT NULL REFERENCES accounts(id),
    requested_at_ns @INT@ NOT NULL,
    starts_at_ns @INT@ NOT NULL,
    expires_at_ns @INT@ NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'revoked', 'expired')),
    decided_by @INT@ REFERENCES accounts(id),
    decided_at_ns @INT@,
    decision_note TEXT,
    -- A second person decides: never the requester, never the holder.
    CHECK (decided_by IS NULL OR (decided_by <> requested_by AND decided_by <> account_id)),
    -- Three months at most: 92 days.
    CHECK (expires_at_ns > starts_at_ns AND expires_at_ns - starts_at_ns <= 7948800000000000)
);
CREATE INDEX temporary_privileges_account_idx ON temporary_privileges (account_id, state);
