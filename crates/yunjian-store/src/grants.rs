//! Tenant authorizations (guide 7.2.5.5) and temporary privileges (7.5.3.5): rows that
//! are never deleted; revocation, rejection and expiry are states with who and when.

use sqlx::Row;
use yunjian_core::ids::{AccountId, ProviderId, TenantId};

use crate::error::{Result, StoreError};
use crate::open::{Store, WriteTx};
use crate::read::{Bind, Cell, CellType, Statement};

/// A tenant administrator's authorization for one provider's operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantAuthorization {
    pub id: i64,
    pub tenant: TenantId,
    pub provider: ProviderId,
    /// World table names the authorization covers.
    pub kinds: Vec<String>,
    /// Object ids it is limited to; empty means every object of the kinds.
    pub object_ids: Vec<i64>,
    /// "create", "update", "delete".
    pub actions: Vec<String>,
    pub reason: String,
    pub starts_at_ns: i64,
    pub expires_at_ns: i64,
    pub granted_by: AccountId,
    pub granted_at_ns: i64,
    pub revoked_by: Option<AccountId>,
    pub revoked_at_ns: Option<i64>,
    pub revoke_reason: Option<String>,
}

impl TenantAuthorization {
    /// Active at `now_ns`: started, not expired, not revoked.
    pub fn active_at(&self, now_ns: i64) -> bool {
        self.revoked_at_ns.is_none() && self.starts_at_ns <= now_ns && now_ns < self.expires_at_ns
    }

    /// Covers this kind, object and action.
    pub fn covers(&self, kind: &str, object_id: Option<i64>, action: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
            && self.actions.iter().any(|a| a == action)
            && (self.object_ids.is_empty()
                || object_id.is_some_and(|id| self.object_ids.contains(&id)))
    }
}

pub struct NewTenantAuthorization<'a> {
    pub tenant: TenantId,
    pub provider: ProviderId,
    pub kinds: &'a [String],
    pub object_ids: &'a [i64],
    pub actions: &'a [String],
    pub reason: &'a str,
    pub starts_at_ns: i64,
    pub expires_at_ns: i64,
    pub granted_by: AccountId,
}

/// Where a temporary privilege stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrivilegeState {
    Requested,
    Approved,
    Rejected,
    Revoked,
    Expired,
}

impl PrivilegeState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrivilegeState::Requested => "requested",
            PrivilegeState::Approved => "approved",
            PrivilegeState::Rejected => "rejected",
            PrivilegeState::Revoked => "revoked",
            PrivilegeState::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<PrivilegeState> {
        [
            PrivilegeState::Requested,
            PrivilegeState::Approved,
            PrivilegeState::Rejected,
            PrivilegeState::Revoked,
            PrivilegeState::Expired,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A temporary privilege: one action (a PDP action id) for one account, for a while.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemporaryPrivilege {
    pub id: i64,
    pub account: AccountId,
    pub privilege: String,
    pub reason: String,
    pub requested_by: AccountId,
    pub requested_at_ns: i64,
    pub starts_at_ns: i64,
    pub expires_at_ns: i64,
    pub state: PrivilegeState,
    pub decided_by: Option<AccountId>,
    pub decided_at_ns: Option<i64>,
    pub decision_note: Option<String>,
}

impl TemporaryPrivilege {
    /// Usable at `now_ns`: approved and inside its window (expiry is checked at use,
    /// whether or not the reaper has marked it yet).
    pub fn active_at(&self, now_ns: i64) -> bool {
        self.state == PrivilegeState::Approved
            && self.starts_at_ns <= now_ns
            && now_ns < self.expires_at_ns
    }
}

pub struct NewTemporaryPrivilege<'a> {
    pub account: AccountId,
    pub privilege: &'a str,
    pub reason: &'a str,
    pub requested_by: AccountId,
    pub starts_at_ns: i64,
    pub expires_at_ns: i64,
}

const AUTHORIZATION_COLUMNS: &str = "id, tenant_id, provider_id, kinds, object_ids, actions, reason, \
     starts_at_ns, expires_at_ns, granted_by, granted_at_ns, revoked_by, revoked_at_ns, revoke_reason";
const AUTHORIZATION_TYPES: [CellType; 14] = [
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
];

fn json_list<T: serde::de::DeserializeOwned>(cell: &mut Cell, what: &str) -> Result<Vec<T>> {
    let text = cell
        .take_text()
        .ok_or_else(|| StoreError::Corrupt(format!("{what}: missing")))?;
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("{what}: not a list")))
}

fn decode_authorization(row: &mut [Cell]) -> Result<TenantAuthorization> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("tenant_authorizations.{what}"));
    Ok(TenantAuthorization {
        id: row[0].int().ok_or_else(|| corrupt("id"))?,
        tenant: TenantId(row[1].int().ok_or_else(|| corrupt("tenant_id"))?),
        provider: ProviderId(row[2].int().ok_or_else(|| corrupt("provider_id"))?),
        kinds: json_list(&mut row[3], "tenant_authorizations.kinds")?,
        object_ids: json_list(&mut row[4], "tenant_authorizations.object_ids")?,
        actions: json_list(&mut row[5], "tenant_authorizations.actions")?,
        reason: row[6].take_text().unwrap_or_default(),
        starts_at_ns: row[7].int().ok_or_else(|| corrupt("starts_at_ns"))?,
        expires_at_ns: row[8].int().ok_or_else(|| corrupt("expires_at_ns"))?,
        granted_by: AccountId(row[9].int().ok_or_else(|| corrupt("granted_by"))?),
        granted_at_ns: row[10].int().ok_or_else(|| corrupt("granted_at_ns"))?,
        revoked_by: row[11].int().map(AccountId),
        revoked_at_ns: row[12].int(),
        revoke_reason: row[13].take_text(),
    })
}

const PRIVILEGE_COLUMNS: &str =
    "id, account_id, privilege, reason, requested_by, requested_at_ns, \
     starts_at_ns, expires_at_ns, state, decided_by, decided_at_ns, decision_note";
const PRIVILEGE_TYPES: [CellType; 12] = [
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
];

fn decode_privilege(row: &mut [Cell]) -> Result<TemporaryPrivilege> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("temporary_privileges.{what}"));
    let state_text = row[8].take_text().ok_or_else(|| corrupt("state"))?;
    Ok(TemporaryPrivilege {
        id: row[0].int().ok_or_else(|| corrupt("id"))?,
        account: AccountId(row[1].int().ok_or_else(|| corrupt("account_id"))?),
        privilege: row[2].take_text().ok_or_else(|| corrupt("privilege"))?,
        reason: row[3].take_text().unwrap_or_default(),
        requested_by: AccountId(row[4].int().ok_or_else(|| corrupt("requested_by"))?),
        requested_at_ns: row[5].int().ok_or_else(|| corrupt("requested_at_ns"))?,
        starts_at_ns: row[6].int().ok_or_else(|| corrupt("starts_at_ns"))?,
        expires_at_ns: row[7].int().ok_or_else(|| corrupt("expires_at_ns"))?,
        state: PrivilegeState::parse(&state_text).ok_or_else(|| corrupt("state"))?,
        decided_by: row[9].int().map(AccountId),
        decided_at_ns: row[10].int(),
        decision_note: row[11].take_text(),
    })
}

/// Which tenant authorizations a query returns: the scope is part of the `WHERE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationScope {
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
}

impl Store {
    /// Runs one read and decodes each row.
    pub(crate) async fn read_decoded<T>(
        &self,
        sql: String,
        binds: Vec<Bind>,
        types: &[CellType],
        decode: fn(&mut [Cell]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = self
            .read(vec![Statement {
                sql,
                binds,
                types: types.to_vec(),
            }])
            .await?;
        rows.into_iter()
            .flatten()
            .map(|mut row| decode(&mut row))
            .collect()
    }

    /// Authorizations in a scope, newest first.
    pub async fn tenant_authorizations(
        &self,
        scope: AuthorizationScope,
        limit: i64,
    ) -> Result<Vec<TenantAuthorization>> {
        let sql = format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM tenant_authorizations \
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = self
            .read(vec![Statement {
                sql,
                binds: vec![
                    Bind::Int(scope.tenant.map(|t| t.0)),
                    Bind::Int(scope.provider.map(|p| p.0)),
                    Bind::Int(Some(limit)),
                ],
                types: AUTHORIZATION_TYPES.to_vec(),
            }])
            .await?;
        rows.into_iter()
            .flatten()
            .map(|mut row| decode_authorization(&mut row))
            .collect()
    }

    pub async fn tenant_authorization(&self, id: i64) -> Result<Option<TenantAuthorization>> {
        Ok(self
            .read_decoded(
                format!("SELECT {AUTHORIZATION_COLUMNS} FROM tenant_authorizations WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                &AUTHORIZATION_TYPES,
                decode_authorization,
            )
            .await?
            .into_iter()
            .next())
    }

    /// The active authorization of `tenant` for `provider` that covers this kind,
    /// object and action at `now_ns`, if any (the oldest, so records name a stable one).
    pub async fn covering_authorization(
        &self,
        tenant: TenantId,
        provider: ProviderId,
        kind: &str,
        object_id: Option<i64>,
        action: &str,
        now_ns: i64,
    ) -> Result<Option<TenantAuthorization>> {
        let sql = format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM tenant_authorizations \
             WHERE tenant_id = $1 AND provider_id = $2 AND revoked_at_ns IS NULL \
             AND starts_at_ns <= $3 AND expires_at_ns > $3 ORDER BY id"
        );
        let rows = self
            .read(vec![Statement {
                sql,
                binds: vec![
                    Bind::Int(Some(tenant.0)),
                    Bind::Int(Some(provider.0)),
                    Bind::Int(Some(now_ns)),
                ],
                types: AUTHORIZATION_TYPES.to_vec(),
            }])
            .await?;
        for mut row in rows.into_iter().flatten() {
            let authorization = decode_authorization(&mut row)?;
            if authorization.covers(kind, object_id, action) {
                return Ok(Some(authorization));
            }
        }
        Ok(None)
    }

    /// Temporary privileges, of one account or all, newest first.
    pub async fn temporary_privileges(
        &self,
        account: Option<AccountId>,
        limit: i64,
    ) -> Result<Vec<TemporaryPrivilege>> {
        self.read_decoded(
            format!(
                "SELECT {PRIVILEGE_COLUMNS} FROM temporary_privileges \
                     WHERE ($1 IS NULL OR account_id = $1) ORDER BY id DESC LIMIT $2"
            ),
            vec![Bind::Int(account.map(|a| a.0)), Bind::Int(Some(limit))],
            &PRIVILEGE_TYPES,
            decode_privilege,
        )
        .await
    }

    pub async fn temporary_privilege(&self, id: i64) -> Result<Option<TemporaryPrivilege>> {
        Ok(self
            .read_decoded(
                format!("SELECT {PRIVILEGE_COLUMNS} FROM temporary_privileges WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                &PRIVILEGE_TYPES,
                decode_privilege,
            )
            .await?
            .into_iter()
            .next())
    }

    /// The account's approved privilege for `privilege` usable at `now_ns`, if any.
    pub async fn active_privilege(
        &self,
        account: AccountId,
        privilege: &str,
        now_ns: i64,
    ) -> Result<Option<TemporaryPrivilege>> {
        Ok(self
            .read_decoded(
                format!(
                    "SELECT {PRIVILEGE_COLUMNS} FROM temporary_privileges WHERE account_id = $1 \
                     AND privilege = $2 AND state = 'approved' AND starts_at_ns <= $3 \
                     AND expires_at_ns > $3 ORDER BY id LIMIT 1"
                ),
                vec![
                    Bind::Int(Some(account.0)),
                    Bind::Text(Some(privilege.to_owned())),
                    Bind::Int(Some(now_ns)),
                ],
                &PRIVILEGE_TYPES,
                decode_privilege,
            )
            .await?
            .into_iter()
            .next())
    }
}

impl WriteTx {
    pub async fn insert_tenant_authorization(
        &mut self,
        new: &NewTenantAuthorization<'_>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO tenant_authorizations (tenant_id, provider_id, kinds, object_ids, actions, \
             reason, starts_at_ns, expires_at_ns, granted_by, granted_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.tenant.0)
        .bind(new.provider.0)
        .bind(serde_json::to_string(new.kinds).expect("strings serialize"))
        .bind(serde_json::to_string(new.object_ids).expect("ids serialize"))
        .bind(serde_json::to_string(new.actions).expect("strings serialize"))
        .bind(new.reason)
        .bind(new.starts_at_ns)
        .bind(new.expires_at_ns)
        .bind(new.granted_by.0)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Revokes an authorization that is not revoked yet; `false` when it already was.
    pub async fn revoke_tenant_authorization(
        &mut self,
        id: i64,
        by: AccountId,
        reason: &str,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tenant_authorizations SET revoked_by = $1, revoked_at_ns = $2, revoke_reason = $3 \
             WHERE id = $4 AND revoked_at_ns IS NULL",
        )
        .bind(by.0)
        .bind(now_ns)
        .bind(reason)
        .bind(id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Authorizations that expired unrevoked and whose expiry is not on record yet;
    /// marks them recorded (the caller writes the records in this transaction).
    pub async fn expire_tenant_authorizations(
        &mut self,
        now_ns: i64,
    ) -> Result<Vec<(i64, TenantId, ProviderId)>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, provider_id FROM tenant_authorizations \
             WHERE expires_at_ns <= $1 AND revoked_at_ns IS NULL AND expiry_recorded_at_ns IS NULL \
             ORDER BY id",
        )
        .bind(now_ns)
        .fetch_all(&mut *self.transaction)
        .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in rows {
            expired.push((
                row.try_get::<i64, _>(0)?,
                TenantId(row.try_get(1)?),
                ProviderId(row.try_get(2)?),
            ));
        }
        sqlx::query(
            "UPDATE tenant_authorizations SET expiry_recorded_at_ns = $1 \
             WHERE expires_at_ns <= $1 AND revoked_at_ns IS NULL AND expiry_recorded_at_ns IS NULL",
        )
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(expired)
    }

    pub async fn insert_temporary_privilege(
        &mut self,
        new: &NewTemporaryPrivilege<'_>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO temporary_privileges (account_id, privilege, reason, requested_by, \
             requested_at_ns, starts_at_ns, expires_at_ns, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested') RETURNING id",
        )
        .bind(new.account.0)
        .bind(new.privilege)
        .bind(new.reason)
        .bind(new.requested_by.0)
        .bind(now_ns)
        .bind(new.starts_at_ns)
        .bind(new.expires_at_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Moves a privilege from one of `from` to `to`, by `by` with a note; `false` when it
    /// was in another state (someone else decided first). The table's CHECK refuses a
    /// decider who is the requester or the holder.
    pub async fn decide_temporary_privilege(
        &mut self,
        id: i64,
        from: &[PrivilegeState],
        to: PrivilegeState,
        by: AccountId,
        note: &str,
        now_ns: i64,
    ) -> Result<bool> {
        let states: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        // The state names are this crate's constants, never input.
        let sql = format!(
            "UPDATE temporary_privileges SET state = $1, decided_by = $2, decided_at_ns = $3, \
             decision_note = $4 WHERE id = $5 AND state IN ({})",
            states.join(", ")
        );
        let done = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(by.0)
            .bind(now_ns)
            .bind(note)
            .bind(id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks approved privileges past their expiry as expired (the reaper); answers
    /// them. Use-time checks do not wait for this.
    pub async fn expire_temporary_privileges(
        &mut self,
        now_ns: i64,
    ) -> Result<Vec<(i64, AccountId, String)>> {
        let rows = sqlx::query(
            "SELECT id, account_id, privilege FROM temporary_privileges \
             WHERE state = 'approved' AND expires_at_ns <= $1 ORDER BY id",
        )
        .bind(now_ns)
        .fetch_all(&mut *self.transaction)
        .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in rows {
            expired.push((
                row.try_get::<i64, _>(0)?,
                AccountId(row.try_get(1)?),
                row.try_get::<String, _>(2)?,
            ));
        }
        sqlx::query(
            "UPDATE temporary_privileges SET state = 'expired', decided_at_ns = $1 \
             WHERE state = 'approved' AND expires_at_ns <= $1",
        )
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(expired)
    }
}

/// An API key (the secret sealed; never returned in the clear by the store).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub access_key_id: String,
    pub account: AccountId,
    pub label: String,
    pub secret_sealed: String,
    pub created_at_ns: i64,
    pub last_used_at_ns: Option<i64>,
    pub revoked_at_ns: Option<i64>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("access_key_id", &self.access_key_id)
            .field("account", &self.account)
            .field("label", &self.label)
            .field("secret_sealed", &"<redacted>")
            .finish()
    }
}

const API_KEY_COLUMNS: &str =
    "access_key_id, account_id, label, secret_sealed, created_at_ns, last_used_at_ns, revoked_at_ns";
const API_KEY_TYPES: [CellType; 7] = [
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
];

fn decode_api_key(row: &mut [Cell]) -> Result<ApiKey> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("api_keys.{what}"));
    Ok(ApiKey {
        access_key_id: row[0].take_text().ok_or_else(|| corrupt("access_key_id"))?,
        account: AccountId(row[1].int().ok_or_else(|| corrupt("account_id"))?),
        label: row[2].take_text().unwrap_or_default(),
        secret_sealed: row[3].take_text().ok_or_else(|| corrupt("secret_sealed"))?,
        created_at_ns: row[4].int().ok_or_else(|| corrupt("created_at_ns"))?,
        last_used_at_ns: row[5].int(),
        revoked_at_ns: row[6].int(),
    })
}

impl Store {
    pub async fn api_key(&self, access_key_id: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .read_decoded(
                format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE access_key_id = $1"),
                vec![Bind::Text(Some(access_key_id.to_owned()))],
                &API_KEY_TYPES,
                decode_api_key,
            )
            .await?
            .into_iter()
            .next())
    }

    pub async fn api_keys_of(&self, account: AccountId) -> Result<Vec<ApiKey>> {
        self.read_decoded(
            format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY created_at_ns DESC"
                ),
            vec![Bind::Int(Some(account.0))],
            &API_KEY_TYPES,
            decode_api_key,
        )
        .await
    }
}

impl WriteTx {
    pub async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (access_key_id, account_id, label, secret_sealed, created_at_ns) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.access_key_id)
        .bind(key.account.0)
        .bind(&key.label)
        .bind(&key.secret_sealed)
        .bind(key.created_at_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    /// Revokes an account's unrevoked key; `false` when there is none such.
    pub async fn revoke_api_key(
        &mut self,
        access_key_id: &str,
        account: AccountId,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at_ns = $1 WHERE access_key_id = $2 AND account_id = $3 \
             AND revoked_at_ns IS NULL",
        )
        .bind(now_ns)
        .bind(access_key_id)
        .bind(account.0)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a nonce; `false` when the key used it already (a replay). Forgets the
    /// key's nonces older than `forget_before_ns` (outside the clock window, a replay
    /// is refused by its time anyway).
    pub async fn use_nonce(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        now_ns: i64,
        forget_before_ns: i64,
    ) -> Result<bool> {
        sqlx::query("DELETE FROM api_nonces WHERE access_key_id = $1 AND at_ns < $2")
            .bind(access_key_id)
            .bind(forget_before_ns)
            .execute(&mut *self.transaction)
            .await?;
        let seen = sqlx::query("SELECT 1 FROM api_nonces WHERE access_key_id = $1 AND nonce = $2")
            .bind(access_key_id)
            .bind(nonce)
            .fetch_optional(&mut *self.transaction)
            .await?;
        if seen.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO api_nonces (access_key_id, nonce, at_ns) VALUES ($1, $2, $3)")
            .bind(access_key_id)
            .bind(nonce)
            .bind(now_ns)
            .execute(&mut *self.transaction)
            .await?;
        sqlx::query("UPDATE api_keys SET last_used_at_ns = $1 WHERE access_key_id = $2")
            .bind(now_ns)
            .bind(access_key_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(true)
    }
}

/// A security event (the API monitor's findings today).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEvent {
    pub id: i64,
    pub at_ns: i64,
    pub source: String,
    pub kind: String,
    pub severity: String,
    pub summary: String,
    pub account: Option<AccountId>,
    pub username: Option<String>,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    pub source_address: Option<String>,
    pub first_at_ns: i64,
    pub last_at_ns: i64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub event_count: i64,
    pub dedupe_key: String,
}

const EVENT_COLUMNS: &str = "id, at_ns, source, kind, severity, summary, account_id, username, tenant_id, \
     provider_id, source_address, first_at_ns, last_at_ns, first_seq, last_seq, event_count, dedupe_key";
const EVENT_TYPES: [CellType; 17] = [
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
];

fn decode_event(row: &mut [Cell]) -> Result<SecurityEvent> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("security_events.{what}"));
    Ok(SecurityEvent {
        id: row[0].int().ok_or_else(|| corrupt("id"))?,
        at_ns: row[1].int().ok_or_else(|| corrupt("at_ns"))?,
        source: row[2].take_text().unwrap_or_default(),
        kind: row[3].take_text().unwrap_or_default(),
        severity: row[4].take_text().unwrap_or_default(),
        summary: row[5].take_text().unwrap_or_default(),
        account: row[6].int().map(AccountId),
        username: row[7].take_text(),
        tenant: row[8].int().map(TenantId),
        provider: row[9].int().map(ProviderId),
        source_address: row[10].take_text(),
        first_at_ns: row[11].int().ok_or_else(|| corrupt("first_at_ns"))?,
        last_at_ns: row[12].int().ok_or_else(|| corrupt("last_at_ns"))?,
        first_seq: row[13].int(),
        last_seq: row[14].int(),
        event_count: row[15].int().unwrap_or(0),
        dedupe_key: row[16].take_text().unwrap_or_default(),
    })
}

impl Store {
    /// Security events in a scope (tenant or provider, or all), newest first.
    pub async fn security_events(
        &self,
        scope: AuthorizationScope,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>> {
        self.read_decoded(
            format!(
                "SELECT {EVENT_COLUMNS} FROM security_events \
                     WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
                     ORDER BY id DESC LIMIT $3"
            ),
            vec![
                Bind::Int(scope.tenant.map(|t| t.0)),
                Bind::Int(scope.provider.map(|p| p.0)),
                Bind::Int(Some(limit)),
            ],
            &EVENT_TYPES,
            decode_event,
        )
        .await
    }
}

impl WriteTx {
    /// Stores an event unless one with its dedupe key exists; answers its id if new.
    pub async fn insert_security_event(&mut self, event: &SecurityEvent) -> Result<Option<i64>> {
        let seen = sqlx::query("SELECT id FROM security_events WHERE dedupe_key = $1")
            .bind(&event.dedupe_key)
            .fetch_optional(&mut *self.transaction)
            .await?;
        if seen.is_some() {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO security_events (at_ns, source, kind, severity, summary, account_id, username, \
             tenant_id, provider_id, source_address, first_at_ns, last_at_ns, first_seq, last_seq, \
             event_count, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16) RETURNING id",
        )
        .bind(event.at_ns)
        .bind(&event.source)
        .bind(&event.kind)
        .bind(&event.severity)
        .bind(&event.summary)
        .bind(event.account.map(|a| a.0))
        .bind(event.username.as_deref())
        .bind(event.tenant.map(|t| t.0))
        .bind(event.provider.map(|p| p.0))
        .bind(event.source_address.as_deref())
        .bind(event.first_at_ns)
        .bind(event.last_at_ns)
        .bind(event.first_seq)
        .bind(event.last_seq)
        .bind(event.event_count)
        .bind(&event.dedupe_key)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(Some(row.try_get(0)?))
    }
}
