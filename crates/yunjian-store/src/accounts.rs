//! Accounts and sessions.

use sqlx::Row;
use yunjian_core::ids::{AccountId, ProviderId, TenantId};
use yunjian_core::lockout::LockState;
use yunjian_core::role::Role;

use crate::error::{Result, StoreError};
use crate::open::{Store, WriteTx};
use crate::read::{Bind, Cell, CellType, Statement};

/// A login account. The password hash is a PHC string (argon2id); it never leaves the
/// app layer and `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at_ns: i64,
    pub password_changed_at_ns: i64,
    /// Earlier password hashes, newest first.
    pub password_history: Vec<String>,
    pub lock_state: LockState,
    /// The active TOTP secret, sealed; `None` without a second factor.
    pub totp_sealed: Option<String>,
    /// A secret being enrolled, until its first code confirms it.
    pub totp_pending_sealed: Option<String>,
    pub totp_last_step: Option<i64>,
    /// The natural person behind the account (see migration 0005).
    pub person_id: Option<String>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("tenant", &self.tenant)
            .field("provider", &self.provider)
            .field("disabled", &self.disabled)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    pub must_change_password: bool,
    /// The natural person behind the account: one person holds at most one account of
    /// the three separated administrator roles, and the store refuses a second.
    pub person_id: &'a str,
}

/// A live session, found by the SM3 digest of its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token_digest: String,
    pub account_id: AccountId,
    pub csrf_token: String,
    pub created_at_ns: i64,
    pub last_seen_at_ns: i64,
    pub expires_at_ns: i64,
    /// When the holder last proved a second factor in this session.
    pub stepped_up_at_ns: Option<i64>,
}

/// Account columns with the type each is read as, in select order.
const ACCOUNT_COLUMNS: [(&str, CellType); 17] = [
    ("id", CellType::Int),
    ("username", CellType::Text),
    ("display_name", CellType::Text),
    ("password_hash", CellType::Text),
    ("role", CellType::Text),
    ("tenant_id", CellType::Int),
    ("provider_id", CellType::Int),
    ("disabled", CellType::Int),
    ("must_change_password", CellType::Int),
    ("created_at_ns", CellType::Int),
    ("password_changed_at_ns", CellType::Int),
    ("password_history", CellType::Text),
    ("lock_state", CellType::Text),
    ("totp_sealed", CellType::Text),
    ("totp_pending_sealed", CellType::Text),
    ("totp_last_step", CellType::Int),
    ("person_id", CellType::Text),
];

/// The account columns, each prefixed (`a.`) when selecting from a join.
fn account_columns(prefix: &str) -> String {
    ACCOUNT_COLUMNS
        .iter()
        .map(|(column, _)| format!("{prefix}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn account_types() -> Vec<CellType> {
    ACCOUNT_COLUMNS.iter().map(|(_, kind)| *kind).collect()
}

/// Decodes the [`ACCOUNT_COLUMNS`] cells.
fn decode_account(cells: &mut [Cell]) -> Result<Account> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("accounts.{what}"));
    if cells.len() < ACCOUNT_COLUMNS.len() {
        return Err(corrupt("columns"));
    }
    let role_text = cells[4].take_text().ok_or_else(|| corrupt("role"))?;
    let role = Role::parse(&role_text)
        .ok_or_else(|| corrupt(&format!("role: unknown role '{role_text}'")))?;
    Ok(Account {
        id: AccountId(cells[0].int().ok_or_else(|| corrupt("id"))?),
        username: cells[1].take_text().ok_or_else(|| corrupt("username"))?,
        display_name: cells[2].take_text(),
        password_hash: cells[3]
            .take_text()
            .ok_or_else(|| corrupt("password_hash"))?,
        role,
        tenant: cells[5].int().map(TenantId),
        provider: cells[6].int().map(ProviderId),
        disabled: cells[7].int().unwrap_or(0) != 0,
        must_change_password: cells[8].int().unwrap_or(0) != 0,
        created_at_ns: cells[9].int().ok_or_else(|| corrupt("created_at_ns"))?,
        password_changed_at_ns: cells[10].int().unwrap_or(0),
        password_history: cells[11]
            .take_text()
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|_| corrupt("password_history"))?
            .unwrap_or_default(),
        lock_state: cells[12]
            .take_text()
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|_| corrupt("lock_state"))?
            .unwrap_or_default(),
        totp_sealed: cells[13].take_text(),
        totp_pending_sealed: cells[14].take_text(),
        totp_last_step: cells[15].int(),
        person_id: cells[16].take_text(),
    })
}

fn statement(sql: String, binds: Vec<Bind>, types: Vec<CellType>) -> Statement {
    Statement { sql, binds, types }
}

impl Store {
    async fn accounts_where(&self, condition: &str, binds: Vec<Bind>) -> Result<Vec<Account>> {
        let sql = format!(
            "SELECT {} FROM accounts{condition} ORDER BY id",
            account_columns("")
        );
        let rows = self
            .read(vec![statement(sql, binds, account_types())])
            .await?;
        rows.into_iter()
            .flatten()
            .map(|mut row| decode_account(&mut row))
            .collect()
    }

    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let found = self
            .accounts_where(
                " WHERE username = $1",
                vec![Bind::Text(Some(username.to_owned()))],
            )
            .await?;
        Ok(found.into_iter().next())
    }

    pub async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        let found = self
            .accounts_where(" WHERE id = $1", vec![Bind::Int(Some(id.0))])
            .await?;
        Ok(found.into_iter().next())
    }

    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.accounts_where("", Vec::new()).await
    }

    pub async fn account_count(&self) -> Result<i64> {
        let rows = self
            .read(vec![statement(
                "SELECT COUNT(*) FROM accounts".into(),
                Vec::new(),
                vec![CellType::Int],
            )])
            .await?;
        Ok(rows
            .first()
            .and_then(|rows| rows.first())
            .and_then(|row| row[0].int())
            .unwrap_or(0))
    }

    /// The session with this token digest and its account, if the session has not
    /// expired at `now_ns`. One query: this runs on every authenticated request.
    pub async fn session(
        &self,
        token_digest: &str,
        now_ns: i64,
    ) -> Result<Option<(Session, Account)>> {
        let sql = format!(
            "SELECT {}, s.token_digest, s.account_id, s.csrf_token, s.created_at_ns, s.last_seen_at_ns, \
             s.expires_at_ns, s.stepped_up_at_ns FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_digest = $1 AND s.expires_at_ns > $2",
            account_columns("a.")
        );
        let mut types = account_types();
        types.extend([
            CellType::Text,
            CellType::Int,
            CellType::Text,
            CellType::Int,
            CellType::Int,
            CellType::Int,
            CellType::Int,
        ]);
        let binds = vec![
            Bind::Text(Some(token_digest.to_owned())),
            Bind::Int(Some(now_ns)),
        ];
        let rows = self.read(vec![statement(sql, binds, types)]).await?;
        let Some(mut row) = rows.into_iter().flatten().next() else {
            return Ok(None);
        };
        let account = decode_account(&mut row)?;
        let n = ACCOUNT_COLUMNS.len();
        let corrupt = |what: &str| StoreError::Corrupt(format!("sessions.{what}"));
        let session = Session {
            token_digest: row[n].take_text().ok_or_else(|| corrupt("token_digest"))?,
            account_id: AccountId(row[n + 1].int().ok_or_else(|| corrupt("account_id"))?),
            csrf_token: row[n + 2]
                .take_text()
                .ok_or_else(|| corrupt("csrf_token"))?,
            created_at_ns: row[n + 3].int().ok_or_else(|| corrupt("created_at_ns"))?,
            last_seen_at_ns: row[n + 4].int().ok_or_else(|| corrupt("last_seen_at_ns"))?,
            expires_at_ns: row[n + 5].int().ok_or_else(|| corrupt("expires_at_ns"))?,
            stepped_up_at_ns: row[n + 6].int(),
        };
        Ok(Some((session, account)))
    }

    /// Records activity on a session and slides its idle expiry, never past the
    /// absolute limit the caller computed.
    pub async fn touch_session(
        &self,
        token_digest: &str,
        now_ns: i64,
        expires_at_ns: i64,
    ) -> Result<()> {
        // Through a write transaction like every write: on SQLite it takes the one
        // writer slot, so it never races a transaction that has read and is about to
        // write (which SQLite would answer with SQLITE_BUSY).
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE sessions SET last_seen_at_ns = $1, expires_at_ns = $2 WHERE token_digest = $3",
        )
        .bind(now_ns)
        .bind(expires_at_ns)
        .bind(token_digest)
        .execute(&mut *tx.transaction)
        .await?;
        tx.commit().await
    }
}

impl WriteTx {
    pub async fn insert_account(
        &mut self,
        account: &NewAccount<'_>,
        now_ns: i64,
    ) -> Result<AccountId> {
        let row = sqlx::query(
            "INSERT INTO accounts (username, display_name, password_hash, role, tenant_id, \
             provider_id, disabled, must_change_password, created_at_ns, updated_at_ns, \
             password_changed_at_ns, person_id) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8, $8, $9) \
             RETURNING id",
        )
        .bind(account.username)
        .bind(account.display_name)
        .bind(account.password_hash)
        .bind(account.role.as_str())
        .bind(account.tenant.map(|id| id.0))
        .bind(account.provider.map(|id| id.0))
        .bind(i64::from(account.must_change_password))
        .bind(now_ns)
        .bind(account.person_id)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(AccountId(row.try_get(0)?))
    }

    /// Starts (or restarts) TOTP enrolment with a sealed secret.
    pub async fn set_totp_pending(
        &mut self,
        id: AccountId,
        sealed: &str,
        now_ns: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET totp_pending_sealed = $1, updated_at_ns = $2 WHERE id = $3",
        )
        .bind(sealed)
        .bind(now_ns)
        .bind(id.0)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    /// Makes the pending secret the active one, with fresh recovery codes (digests).
    pub async fn activate_totp(
        &mut self,
        id: AccountId,
        sealed: &str,
        step: i64,
        recovery_digests: &[String],
        now_ns: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET totp_sealed = $1, totp_pending_sealed = NULL, totp_last_step = $2, \
             updated_at_ns = $3 WHERE id = $4",
        )
        .bind(sealed)
        .bind(step)
        .bind(now_ns)
        .bind(id.0)
        .execute(&mut *self.transaction)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(id.0)
            .execute(&mut *self.transaction)
            .await?;
        for digest in recovery_digests {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_digest) VALUES ($1, $2)")
                .bind(id.0)
                .bind(digest.as_str())
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    pub async fn set_totp_last_step(&mut self, id: AccountId, step: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET totp_last_step = $1 WHERE id = $2")
            .bind(step)
            .bind(id.0)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    /// Spends a recovery code; `false` when it is unknown or already used.
    pub async fn use_recovery_code(
        &mut self,
        id: AccountId,
        digest: &str,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at_ns = $1 WHERE account_id = $2 AND code_digest = $3 \
             AND used_at_ns IS NULL",
        )
        .bind(now_ns)
        .bind(id.0)
        .bind(digest)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores an account's login-failure state.
    pub async fn set_lock_state(
        &mut self,
        id: AccountId,
        state: &LockState,
        now_ns: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE accounts SET lock_state = $1, updated_at_ns = $2 WHERE id = $3")
            .bind(serde_json::to_string(state).expect("lock state serializes"))
            .bind(now_ns)
            .bind(id.0)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    /// Sets a new password hash, keeping `history` (newest first), and whether the next
    /// login must change it.
    pub async fn set_password(
        &mut self,
        id: AccountId,
        hash: &str,
        history: &[String],
        must_change: bool,
        now_ns: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_history = $2, \
             must_change_password = $3, password_changed_at_ns = $4, updated_at_ns = $4 \
             WHERE id = $5",
        )
        .bind(hash)
        .bind(serde_json::to_string(history).expect("history serializes"))
        .bind(i64::from(must_change))
        .bind(now_ns)
        .bind(id.0)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    /// Ends an account's sessions, except the one with `keep` as its digest.
    pub async fn delete_sessions_of(&mut self, id: AccountId, keep: Option<&str>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_digest <> $2")
            .bind(id.0)
            .bind(keep.unwrap_or(""))
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected())
    }

    /// An account read inside this transaction (PostgreSQL: locked until it ends, so
    /// two failed logins cannot both miss each other's count).
    pub async fn account_for_update(&mut self, id: AccountId) -> Result<Option<Account>> {
        let lock = match self.backend {
            crate::open::Backend::Postgres => " FOR UPDATE",
            crate::open::Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT {} FROM accounts WHERE id = $1{lock}",
            account_columns("")
        );
        let rows = crate::read::Reader::Sqlx(&mut self.transaction)
            .run(vec![statement(
                sql,
                vec![Bind::Int(Some(id.0))],
                account_types(),
            )])
            .await?;
        rows.into_iter()
            .flatten()
            .next()
            .map(|mut row| decode_account(&mut row))
            .transpose()
    }

    pub async fn account_count(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut *self.transaction)
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn insert_session(
        &mut self,
        session: &Session,
        source_address: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_digest, account_id, csrf_token, source_address, \
             created_at_ns, last_seen_at_ns, expires_at_ns, stepped_up_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.token_digest)
        .bind(session.account_id.0)
        .bind(&session.csrf_token)
        .bind(source_address)
        .bind(session.created_at_ns)
        .bind(session.last_seen_at_ns)
        .bind(session.expires_at_ns)
        .bind(session.stepped_up_at_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    /// Marks that the session's holder just proved a second factor.
    pub async fn set_stepped_up(&mut self, token_digest: &str, now_ns: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET stepped_up_at_ns = $1 WHERE token_digest = $2")
            .bind(now_ns)
            .bind(token_digest)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    /// Gives an account another role (and the binding that role needs). The store's
    /// index refuses a person a second separated administrator role.
    pub async fn set_role(
        &mut self,
        id: AccountId,
        role: Role,
        tenant: Option<TenantId>,
        provider: Option<ProviderId>,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET role = $1, tenant_id = $2, provider_id = $3, updated_at_ns = $4 \
             WHERE id = $5",
        )
        .bind(role.as_str())
        .bind(tenant.map(|id| id.0))
        .bind(provider.map(|id| id.0))
        .bind(now_ns)
        .bind(id.0)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether another account of this person holds one of the separated roles.
    pub async fn person_holds_separated_role(
        &mut self,
        person_id: &str,
        except: Option<AccountId>,
    ) -> Result<Option<(AccountId, Role)>> {
        let row = sqlx::query(
            "SELECT id, role FROM accounts WHERE person_id = $1 AND id <> $2 \
             AND role IN ('system_admin', 'security_admin', 'security_auditor') ORDER BY id LIMIT 1",
        )
        .bind(person_id)
        .bind(except.map_or(0, |id| id.0))
        .fetch_optional(&mut *self.transaction)
        .await?;
        row.map(|row| -> Result<(AccountId, Role)> {
            let role: String = row.try_get(1)?;
            Ok((
                AccountId(row.try_get(0)?),
                Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("accounts.role: '{role}'")))?,
            ))
        })
        .transpose()
    }

    pub async fn delete_session(&mut self, token_digest: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&mut self, now_ns: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at_ns <= $1")
            .bind(now_ns)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected())
    }
}

/// A live session as its owner sees it: no token, no CSRF token; `id` is the first 16
/// hex digits of the token's SM3 digest (what audit records show as `session:…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: String,
    pub source_address: Option<String>,
    pub created_at_ns: i64,
    pub last_seen_at_ns: i64,
    pub expires_at_ns: i64,
}

impl Store {
    /// An account's unexpired sessions, newest first.
    pub async fn sessions_of(
        &self,
        account: AccountId,
        now_ns: i64,
    ) -> Result<Vec<SessionSummary>> {
        let rows = self
            .read(vec![statement(
                "SELECT token_digest, source_address, created_at_ns, last_seen_at_ns, expires_at_ns \
                 FROM sessions WHERE account_id = $1 AND expires_at_ns > $2 ORDER BY created_at_ns DESC"
                    .into(),
                vec![Bind::Int(Some(account.0)), Bind::Int(Some(now_ns))],
                vec![CellType::Text, CellType::Text, CellType::Int, CellType::Int, CellType::Int],
            )])
            .await?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("sessions.{what}"));
        rows.into_iter()
            .flatten()
            .map(|mut row| {
                let digest = row[0].take_text().ok_or_else(|| corrupt("token_digest"))?;
                Ok(SessionSummary {
                    id: digest.chars().take(16).collect(),
                    source_address: row[1].take_text(),
                    created_at_ns: row[2].int().ok_or_else(|| corrupt("created_at_ns"))?,
                    last_seen_at_ns: row[3].int().ok_or_else(|| corrupt("last_seen_at_ns"))?,
                    expires_at_ns: row[4].int().ok_or_else(|| corrupt("expires_at_ns"))?,
                })
            })
            .collect()
    }
}

impl WriteTx {
    /// Ends one of the account's sessions by the first 16 hex digits of its digest;
    /// `false` when the account has no such session.
    pub async fn delete_session_by_prefix(
        &mut self,
        account: AccountId,
        prefix: &str,
    ) -> Result<bool> {
        if prefix.len() != 16 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let done = sqlx::query(
            "DELETE FROM sessions WHERE account_id = $1 AND substr(token_digest, 1, 16) = $2",
        )
        .bind(account.0)
        .bind(prefix.to_ascii_lowercase())
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
