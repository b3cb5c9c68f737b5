-- yunjian schema, version 4: TOTP second factor and recovery codes.
-- Secrets are SM4-GCM sealed (yunjian-gm SealingKey), never stored in the clear.
ALTER TABLE accounts ADD COLUMN totp_sealed TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending_sealed TEXT;
-- The last accepted time step: a code is good once.
ALTER TABLE accounts ADD COLUMN totp_last_step @INT@;
CREATE TABLE recovery_codes (
    account_id @INT@ NOT NULL REFERENCES accounts(id),
    code_digest TEXT NOT NULL,
    used_at_ns @INT@,
    PRIMARY KEY (account_id, code_digest)
);
