-- yunjian schema, version 6: API keys and signed requests (guide 7.3.1.1).
-- The secret is SM4-GCM sealed (yunjian-gm SealingKey), never stored in the clear; it
-- is shown once at creation.
CREATE TABLE api_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id @INT@ NOT NULL REFERENCES accounts(id),
    label TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at_ns @INT@ NOT NULL,
    last_used_at_ns @INT@,
    revoked_at_ns @INT@
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

-- Nonces seen within the accepted clock window: a signed request is good once.
CREATE TABLE api_nonces (
    access_key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    at_ns @INT@ NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX api_nonces_at_idx ON api_nonces (at_ns);
