//! Accounts and sessions.

use sqlx::any::AnyRow;
use sqlx::Row;
use yunjian_core::ids::{AccountId, ProviderId, TenantId};
use yunjian_core::role::Role;

use crate::error::{Result, StoreError};
use crate::open::{Store, WriteTx};

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
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, password_hash, role, tenant_id, \
     provider_id, disabled, must_change_password, created_at_ns";

fn decode_account(row: &AnyRow) -> Result<Account> {
    let role_text: String = row.try_get("role")?;
    let role = Role::parse(&role_text)
        .ok_or_else(|| StoreError::Corrupt(format!("accounts.role: unknown role '{role_text}'")))?;
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        role,
        tenant: row.try_get::<Option<i64>, _>("tenant_id")?.map(TenantId),
        provider: row
            .try_get::<Option<i64>, _>("provider_id")?
            .map(ProviderId),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        created_at_ns: row.try_get("created_at_ns")?,
    })
}

impl Store {
    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_account).transpose()
    }

    pub async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_account).transpose()
    }

    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(decode_account).collect()
    }

    pub async fn account_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The session with this token digest and its account, if the session has not
    /// expired at `now_ns`. One query: this runs on every authenticated request.
    pub async fn session(
        &self,
        token_digest: &str,
        now_ns: i64,
    ) -> Result<Option<(Session, Account)>> {
        let account_columns: Vec<String> = ACCOUNT_COLUMNS
            .split(',')
            .map(|column| format!("a.{}", column.trim()))
            .collect();
        let sql = format!(
            "SELECT s.token_digest, s.account_id, s.csrf_token, s.created_at_ns AS session_created_at_ns, \
             s.last_seen_at_ns, s.expires_at_ns, {} FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_digest = $1 AND s.expires_at_ns > $2",
            account_columns.join(", ")
        );
        let row = sqlx::query(&sql)
            .bind(token_digest)
            .bind(now_ns)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let session = Session {
            token_digest: row.try_get("token_digest")?,
            account_id: AccountId(row.try_get("account_id")?),
            csrf_token: row.try_get("csrf_token")?,
            created_at_ns: row.try_get("session_created_at_ns")?,
            last_seen_at_ns: row.try_get("last_seen_at_ns")?,
            expires_at_ns: row.try_get("expires_at_ns")?,
        };
        Ok(Some((session, decode_account(&row)?)))
    }

    /// Records activity on a session and slides its idle expiry, never past the
    /// absolute limit the caller computed.
    pub async fn touch_session(
        &self,
        token_digest: &str,
        now_ns: i64,
        expires_at_ns: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at_ns = $1, expires_at_ns = $2 WHERE token_digest = $3",
        )
        .bind(now_ns)
        .bind(expires_at_ns)
        .bind(token_digest)
        .execute(&self.pool)
        .await?;
        Ok(())
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
             provider_id, disabled, must_change_password, created_at_ns, updated_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8) RETURNING id",
        )
        .bind(account.username)
        .bind(account.display_name)
        .bind(account.password_hash)
        .bind(account.role.as_str())
        .bind(account.tenant.map(|id| id.0))
        .bind(account.provider.map(|id| id.0))
        .bind(i64::from(account.must_change_password))
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(AccountId(row.try_get(0)?))
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
             created_at_ns, last_seen_at_ns, expires_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&session.token_digest)
        .bind(session.account_id.0)
        .bind(&session.csrf_token)
        .bind(source_address)
        .bind(session.created_at_ns)
        .bind(session.last_seen_at_ns)
        .bind(session.expires_at_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
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
