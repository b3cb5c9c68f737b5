//! Login, sessions and logout.
//!
//! Passwords are argon2id hashes (PHC strings). A session is a random 256-bit token; the
//! store keeps only its SM3 digest. The same token works as a bearer token for the API
//! and, in an HttpOnly cookie, for the console, whose forms also carry the session's CSRF
//! token. Sessions end after an idle period and at an absolute limit.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use yunjian_core::lockout::Lock;
use yunjian_core::role::Principal;
use yunjian_gm::{random_secret_hex, Sm3Digest};
use yunjian_store::{Account, AuditOutcome, NewAuditRecord, Session};

use crate::error::AppError;
use crate::{App, Context};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionSettings {
    /// A session unused this long ends.
    pub idle_timeout_ns: i64,
    /// A session ends this long after login, used or not.
    pub absolute_lifetime_ns: i64,
}

const MINUTE_NS: i64 = 60 * 1_000_000_000;

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle_timeout_ns: 15 * MINUTE_NS,
            absolute_lifetime_ns: 8 * 60 * MINUTE_NS,
        }
    }
}

/// A session token as the client holds it. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl SessionToken {
    /// The SM3 digest the session is stored under.
    pub(crate) fn digest(&self) -> String {
        Sm3Digest::of(self.0.as_bytes()).to_hex()
    }

    /// How this session appears in audit records (`session:` and a digest prefix).
    pub fn credential(&self) -> String {
        session_credential(&self.digest())
    }
}

#[derive(Debug)]
pub struct LoginOutcome {
    /// The password must change before anything else (first login, an administrator's
    /// reset, or expiry): only the change, `me` and logout are allowed until then.
    pub password_change_required: bool,
    pub token: SessionToken,
    pub csrf_token: String,
    pub principal: Principal,
    pub expires_at_ns: i64,
    /// The role needs a second factor and none is enrolled: only enrolment, the
    /// password change, `me` and logout are allowed until it is.
    pub totp_enrolment_required: bool,
}

/// What a valid session token resolves to.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub principal: Principal,
    pub csrf_token: String,
    /// When the holder last proved a second factor in this session.
    pub second_factor_at_ns: Option<i64>,
}

/// Hashes a password with `algorithm` and a fresh salt.
pub fn hash_password_with(
    password: &str,
    algorithm: crate::identity::PasswordHashing,
) -> Result<String, AppError> {
    if algorithm == crate::identity::PasswordHashing::Pbkdf2Sm3 {
        return Ok(yunjian_gm::pbkdf2_sm3_hash(password));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    if hash.starts_with("$pbkdf2-sm3$") {
        return yunjian_gm::pbkdf2_sm3_verify(password, hash);
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anybody knows, verified for unknown users so that the answer takes
/// as long as for a known one.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$eXVuamlhbi1kdW1teQ$0R6fA6mP6SIdUqL3tK0wXW3bKk1rJzvQ2z0vT2o3Z3c";
/// The same for deployments hashing with PBKDF2-HMAC-SM3 (same rounds as real hashes).
const DUMMY_PBKDF2_HASH: &str =
    "$pbkdf2-sm3$i=600000$eXVuamlhbi1kdW1teQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

pub(crate) fn principal_of(account: &Account) -> Principal {
    Principal {
        account_id: account.id,
        username: account.username.clone(),
        role: account.role,
        tenant: account.tenant,
        provider: account.provider,
        second_factor: account.totp_sealed.is_some(),
    }
}

impl App {
    /// Hashes off the async runtime, at most two at a time.
    pub async fn hash_password(&self, password: String) -> Result<String, AppError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| AppError::Internal("hashing pool closed".into()))?;
        let algorithm = self.identity.password_hashing;
        tokio::task::spawn_blocking(move || hash_password_with(&password, algorithm))
            .await
            .map_err(|error| AppError::Internal(format!("hashing task failed: {error}")))?
    }

    pub(crate) async fn check_password(
        &self,
        password: String,
        hash: String,
    ) -> Result<bool, AppError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| AppError::Internal("hashing pool closed".into()))?;
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|error| AppError::Internal(format!("verification task failed: {error}")))
    }

    /// Checks a username and password and opens a session. Every attempt is audited;
    /// failures answer the same whatever the reason.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        request_id: &str,
        source_address: Option<&str>,
    ) -> Result<LoginOutcome, AppError> {
        self.login_with(username, password, None, request_id, source_address)
            .await
    }

    /// Login with an optional second factor (`totp`: a current code or a recovery
    /// code). An account with a second factor and no code answers `TotpRequired` only
    /// after its password was right; a wrong code counts like a wrong password.
    pub async fn login_with(
        &self,
        username: &str,
        password: &str,
        totp: Option<&str>,
        request_id: &str,
        source_address: Option<&str>,
    ) -> Result<LoginOutcome, AppError> {
        if let Some(address) = source_address {
            if !self.login_limiter.admit(address, self.now_ns()) {
                let mut record =
                    NewAuditRecord::new(self.now_ns(), "auth.login", AuditOutcome::Denied);
                record.actor_username = Some(truncate(username, 128));
                record.source_address = Some(address.to_owned());
                record.request_id = Some(request_id.to_owned());
                record.reason = Some("rate limited: too many attempts from this address".into());
                self.append_audit_grouped(record).await?;
                return Err(AppError::RateLimited);
            }
        }
        let account = self.store.account_by_username(username).await?;
        let dummy = match self.identity.password_hashing {
            crate::identity::PasswordHashing::Argon2id => DUMMY_HASH,
            crate::identity::PasswordHashing::Pbkdf2Sm3 => DUMMY_PBKDF2_HASH,
        };
        let hash = account
            .as_ref()
            .map_or(dummy.to_owned(), |account| account.password_hash.clone());
        let password_ok = self.check_password(password.to_owned(), hash).await?;
        let now = self.now_ns();
        let lock = account
            .as_ref()
            .map_or(Lock::Open, |account| account.lock_state.lock(now));
        let failure = match &account {
            None => Some("unknown user"),
            Some(account) if account.disabled => Some("account disabled"),
            // A locked account answers like a wrong password, whatever was typed.
            Some(_) if lock != Lock::Open => Some("account locked"),
            Some(_) if !password_ok => Some("wrong password"),
            Some(_) => None,
        };
        let mut record = NewAuditRecord {
            at_ns: now,
            source_time_ns: None,
            actor_credential: None,
            before_digest: None,
            after_digest: None,
            actor_account_id: account.as_ref().map(|account| account.id.0),
            // The attempted name is kept (it is what an analyst needs for brute-force
            // detection); the password never is.
            actor_username: Some(truncate(username, 128)),
            actor_role: account
                .as_ref()
                .map(|account| account.role.as_str().to_owned()),
            actor_tenant_id: account
                .as_ref()
                .and_then(|account| account.tenant.map(|id| id.0)),
            actor_provider_id: account
                .as_ref()
                .and_then(|account| account.provider.map(|id| id.0)),
            source_address: source_address.map(str::to_owned),
            request_id: Some(request_id.to_owned()),
            action: "auth.login".into(),
            object_kind: Some("account".into()),
            object_id: account.as_ref().map(|account| account.id.0),
            tenant_id: account
                .as_ref()
                .and_then(|account| account.tenant.map(|id| id.0)),
            outcome: AuditOutcome::Succeeded,
            reason: None,
            detail: None,
        };
        if let Some(reason) = failure {
            record.outcome = AuditOutcome::Failed;
            record.reason = Some(reason.into());
            match (&account, reason) {
                (Some(account), "wrong password") => {
                    // The failure counts towards a lock: counted, locked and recorded
                    // in one transaction.
                    self.count_failure(account.id, record, now).await?;
                }
                // The failed attempt must be on record before the answer goes out.
                _ => {
                    self.append_audit_grouped(record).await?;
                }
            }
            return Err(AppError::BadCredentials);
        }
        let Some(account) = account else {
            return Err(AppError::BadCredentials);
        };
        let mut tx = self.store.begin_write().await?;
        let mut second_factor_at_ns = None;
        if account.totp_sealed.is_some() {
            let accepted = match totp {
                None => {
                    drop(tx);
                    record.outcome = AuditOutcome::Failed;
                    record.reason = Some("second factor required".into());
                    self.append_audit_grouped(record).await?;
                    return Err(AppError::TotpRequired);
                }
                Some(code) => {
                    self.check_second_factor(&mut tx, &account, code, now)
                        .await?
                }
            };
            if !accepted {
                drop(tx);
                record.outcome = AuditOutcome::Failed;
                record.reason = Some("wrong second factor".into());
                self.count_failure(account.id, record, now).await?;
                return Err(AppError::BadCredentials);
            }
            second_factor_at_ns = Some(now);
        }
        let token = SessionToken(random_secret_hex(32));
        let csrf_token = random_secret_hex(16);
        let expires_at_ns = now
            + self
                .settings
                .idle_timeout_ns
                .min(self.settings.absolute_lifetime_ns);
        let session = Session {
            token_digest: token.digest(),
            account_id: account.id,
            csrf_token: csrf_token.clone(),
            created_at_ns: now,
            last_seen_at_ns: now,
            expires_at_ns,
            stepped_up_at_ns: second_factor_at_ns,
        };
        tx.delete_expired_sessions(now).await?;
        if !account.lock_state.failures.is_empty() || account.lock_state.locked_until_ns.is_some() {
            let mut state = account.lock_state.clone();
            state.on_success();
            tx.set_lock_state(account.id, &state, now).await?;
        }
        tx.insert_session(&session, source_address).await?;
        record.actor_credential = Some(session_credential(&session.token_digest));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(LoginOutcome {
            token,
            csrf_token,
            principal: principal_of(&account),
            expires_at_ns,
            password_change_required: self.password_change_required(&account, now),
            totp_enrolment_required: totp_enrolment_required(&account),
        })
    }

    /// Resolves a session token to its principal and CSRF token, sliding the idle expiry
    /// (written at most once a minute, so reads do not turn into writes).
    pub async fn authenticate(&self, token: &SessionToken) -> Result<Authenticated, AppError> {
        self.authenticate_inner(token, false).await
    }

    /// Like [`App::authenticate`], but lets in a session that must first change its
    /// password or enrol a second factor: for doing that, reading who one is, and
    /// logging out.
    pub async fn authenticate_restricted(
        &self,
        token: &SessionToken,
    ) -> Result<Authenticated, AppError> {
        self.authenticate_inner(token, true).await
    }

    async fn authenticate_inner(
        &self,
        token: &SessionToken,
        restricted: bool,
    ) -> Result<Authenticated, AppError> {
        if token.0.len() != 64 || !token.0.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::Unauthenticated);
        }
        let now = self.now_ns();
        let digest = token.digest();
        let Some((session, account)) = self.store.session(&digest, now).await? else {
            return Err(AppError::Unauthenticated);
        };
        if account.disabled {
            return Err(AppError::Unauthenticated);
        }
        if !restricted && self.password_change_required(&account, now) {
            return Err(AppError::PasswordChangeRequired);
        }
        if !restricted && totp_enrolment_required(&account) {
            return Err(AppError::TotpEnrolmentRequired);
        }
        if now - session.last_seen_at_ns > MINUTE_NS {
            let expires = (now + self.settings.idle_timeout_ns)
                .min(session.created_at_ns + self.settings.absolute_lifetime_ns);
            self.store.touch_session(&digest, now, expires).await?;
        }
        Ok(Authenticated {
            principal: principal_of(&account),
            csrf_token: session.csrf_token,
            second_factor_at_ns: session.stepped_up_at_ns,
        })
    }

    /// The caller's live sessions (this one included).
    pub async fn my_sessions(
        &self,
        context: &Context,
    ) -> Result<Vec<yunjian_store::SessionSummary>, AppError> {
        Ok(self
            .store
            .sessions_of(context.principal.account_id, self.now_ns())
            .await?)
    }

    /// Ends one of the caller's sessions (another device, a forgotten browser).
    pub async fn end_my_session(&self, context: &Context, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin_write().await?;
        if !tx
            .delete_session_by_prefix(context.principal.account_id, id)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(context, "auth.session.end", AuditOutcome::Succeeded);
        record.object_kind = Some("session".into());
        record.detail = Some(serde_json::json!({ "session": format!("session:{id}") }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn logout(&self, context: &Context, token: &SessionToken) -> Result<(), AppError> {
        let mut tx = self.store.begin_write().await?;
        tx.delete_session(&token.digest()).await?;
        tx.append_audit(&self.record(context, "auth.logout", AuditOutcome::Succeeded))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An audit record of an action by the context's principal.
    pub(crate) fn record(
        &self,
        context: &Context,
        action: &str,
        outcome: AuditOutcome,
    ) -> NewAuditRecord {
        let principal = &context.principal;
        let mut record = NewAuditRecord::new(self.now_ns(), action, outcome);
        record.source_time_ns = context.source_time_ns;
        record.actor_credential = context.credential.clone();
        record.actor_account_id = Some(principal.account_id.0);
        record.actor_username = Some(principal.username.clone());
        record.actor_role = Some(principal.role.as_str().to_owned());
        record.actor_tenant_id = principal.tenant.map(|id| id.0);
        record.actor_provider_id = principal.provider.map(|id| id.0);
        record.source_address = context.source_address.clone();
        record.request_id = Some(context.request_id.clone());
        record
    }

    /// Records a refused request (the refused change itself never started), through the
    /// group committer. A failure to record is logged, and the refusal still stands.
    pub(crate) async fn record_denial(&self, mut record: NewAuditRecord, reason: &str) {
        record.outcome = AuditOutcome::Denied;
        record.reason = Some(reason.to_owned());
        let action = record.action.clone();
        if let Err(error) = self.append_audit_grouped(record).await {
            tracing::error!(%error, %action, "could not record a denied request");
        }
    }
}

/// How a session appears in audit records: a prefix of its token's digest, which names
/// the session without revealing (or letting anyone rebuild) the token.
/// Whether the account's role wants a second factor it has not enrolled (7.2.5.2,
/// 7.5.3.2: mandatory for administrators, provider operators and tenant
/// administrators; no setting turns this off).
pub(crate) fn totp_enrolment_required(account: &Account) -> bool {
    account.role.needs_second_factor() && account.totp_sealed.is_none()
}

pub(crate) fn session_credential(token_digest: &str) -> String {
    format!("session:{}", &token_digest[..token_digest.len().min(16)])
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHash;

    use super::{hash_password_with, verify_password, DUMMY_HASH, DUMMY_PBKDF2_HASH};

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password_with(
            "correct horse battery staple",
            crate::identity::PasswordHashing::Argon2id,
        )
        .expect("hash");
        let b = hash_password_with(
            "correct horse battery staple",
            crate::identity::PasswordHashing::Argon2id,
        )
        .expect("hash");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse battery staple", &a));
        assert!(!verify_password("correct horse battery stapler", &a));
        assert!(!verify_password("anything", DUMMY_HASH));
        // The dummy must parse, or unknown users would skip the argon2 work and answer
        // faster than known ones (a username oracle).
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("anything", "not a hash"));
    }

    /// The PBKDF2 dummy must be well-formed for the same reason: a malformed one would
    /// skip the 600,000 rounds. A hash made with its salt and rounds has its shape.
    #[test]
    fn the_pbkdf2_dummy_is_a_well_formed_full_cost_hash() {
        let real = yunjian_gm::pbkdf2_sm3_hash("anything");
        let shape = |phc: &str| {
            let parts: Vec<&str> = phc.split('$').collect();
            (
                parts.len(),
                parts[1].to_owned(),
                parts[2].to_owned(),
                parts[4].len(),
            )
        };
        assert_eq!(
            shape(DUMMY_PBKDF2_HASH),
            (5, "pbkdf2-sm3".into(), "i=600000".into(), 43)
        );
        assert_eq!(shape(DUMMY_PBKDF2_HASH).2, shape(&real).2);
        assert_eq!(shape(DUMMY_PBKDF2_HASH).3, shape(&real).3);
        assert!(!verify_password("anything", DUMMY_PBKDF2_HASH));
    }
}
