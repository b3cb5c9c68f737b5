-- yunjian schema, version 3: password age and history, login-failure state.
ALTER TABLE accounts ADD COLUMN password_changed_at_ns @INT@ NOT NULL DEFAULT 0;
-- The last hashes (argon2id PHC strings), newest first, as a JSON array: a new password
-- must differ from each of them.
ALTER TABLE accounts ADD COLUMN password_history TEXT NOT NULL DEFAULT '[]';
-- yunjian_core::lockout::LockState as JSON.
ALTER TABLE accounts ADD COLUMN lock_state TEXT NOT NULL DEFAULT '{}';
UPDATE accounts SET password_changed_at_ns = created_at_ns;
