//! Passwords and login failures (guide 7.5.2.3, 7.5.3.1, 7.5.3.8): the policy's floors,
//! counting failures towards a lock, changing a password (history, minimum age, forced
//! change), an administrator's reset and unlock. Every change ends the account's other
//! sessions and is audited with the change, in one transaction.

use serde_json::json;
use yunjian_core::ids::AccountId;
use yunjian_core::lockout::{LockEvent, LockoutPolicy};
use yunjian_core::password::{PasswordAge, PasswordPolicy, PasswordProblem};
use yunjian_core::value::FieldError;
use yunjian_gm::random_password;
use yunjian_store::{Account, AuditOutcome, NewAuditRecord};

use crate::auth::SessionToken;
use crate::error::AppError;
use crate::{App, Context};

/// Login attempts per source address: at most `LOGIN_BURST` within a sliding minute.
/// Kept per server instance (a limiter shared through the store would turn every login
/// into a write); with N instances behind a balancer an address gets at most N times
/// this, still far below what guessing needs, and the lockout is shared.
pub const LOGIN_BURST: usize = 10;
const LOGIN_WINDOW_NS: i64 = 60 * 1_000_000_000;

#[derive(Default)]
pub(crate) struct LoginLimiter {
    attempts: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<i64>>>,
}

impl LoginLimiter {
    /// Counts an attempt; `false` when the address is over its budget.
    pub(crate) fn admit(&self, address: &str, now_ns: i64) -> bool {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if attempts.len() > 100_000 {
            // Bounded memory under a spray from many addresses: forget idle ones.
            attempts.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now_ns - last < LOGIN_WINDOW_NS)
            });
        }
        let times = attempts.entry(address.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|first| now_ns - first >= LOGIN_WINDOW_NS)
        {
            times.pop_front();
        }
        if times.len() >= LOGIN_BURST {
            return false;
        }
        times.push_back(now_ns);
        true
    }
}

/// How new password hashes are made. Verification follows each stored hash's own
/// algorithm, so switching never locks anyone out; passwords move to the new algorithm
/// as they are changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordHashing {
    /// argon2id (the default: memory-hard).
    #[default]
    Argon2id,
    /// PBKDF2-HMAC-SM3, 600,000 rounds, for deployments whose cryptography assessment
    /// admits national algorithms only.
    Pbkdf2Sm3,
}

impl PasswordHashing {
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordHashing::Argon2id => "argon2id",
            PasswordHashing::Pbkdf2Sm3 => "pbkdf2-sm3",
        }
    }

    pub fn parse(text: &str) -> Option<PasswordHashing> {
        [PasswordHashing::Argon2id, PasswordHashing::Pbkdf2Sm3]
            .into_iter()
            .find(|algorithm| algorithm.as_str() == text)
    }
}

/// The identity policies a deployment runs with; `Default` is the guide's floors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentitySettings {
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub password_hashing: PasswordHashing,
}

impl IdentitySettings {
    /// Refuses any setting looser than the guide allows.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(more) = self.password.check_settings() {
            problems.extend(more.into_iter().map(|p| format!("password: {p}")));
        }
        if let Err(more) = self.lockout.check_settings() {
            problems.extend(more.into_iter().map(|p| format!("lockout: {p}")));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn password_errors(field: &str, problems: &[PasswordProblem]) -> AppError {
    AppError::Invalid(
        problems
            .iter()
            .map(|problem| FieldError::new(field, problem.code(), problem.message()))
            .collect(),
    )
}

/// How long a proved second factor counts for sensitive actions (step-up).
pub const STEP_UP_WINDOW_NS: i64 = 5 * 60 * 1_000_000_000;

/// Associated data of sealed TOTP secrets.
pub(crate) const TOTP_SEAL_CONTEXT: &[u8] = b"yunjian totp secret v1";
/// How authenticator apps label the account.
const TOTP_ISSUER: &str = "yunjian";

/// A TOTP enrolment in progress: the secret to put in an app, once.
#[derive(Clone)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(<secret>)")
    }
}

fn unix_seconds(now_ns: i64) -> u64 {
    u64::try_from(now_ns / 1_000_000_000).unwrap_or(0)
}

fn recovery_digest(code: &str) -> String {
    let normalized: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    yunjian_gm::Sm3Digest::of(normalized.to_ascii_lowercase().as_bytes()).to_hex()
}

impl App {
    /// The key that seals second-factor secrets (the same key file as the ledger's
    /// signing key, another purpose bound in).
    pub fn with_sealing(mut self, sealing: yunjian_gm::SealingKey) -> App {
        self.sealing = Some(std::sync::Arc::new(sealing));
        self
    }

    fn sealing(&self) -> Result<&yunjian_gm::SealingKey, AppError> {
        self.sealing.as_deref().ok_or_else(|| AppError::Conflict {
            field: None,
            message: "second factors need the sealing key (run `yunjian admin init`)".into(),
        })
    }

    fn unseal_totp(&self, sealed: &str) -> Result<yunjian_gm::Totp, AppError> {
        let secret = self
            .sealing()?
            .open(sealed, TOTP_SEAL_CONTEXT)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        Ok(yunjian_gm::Totp::from_secret(&secret))
    }

    /// Starts TOTP enrolment for the caller: a new secret, shown once, active after its
    /// first code confirms it.
    pub async fn begin_totp_enrolment(&self, context: &Context) -> Result<TotpEnrolment, AppError> {
        let sealing = self.sealing()?;
        let enrolled = self
            .store
            .account(context.principal.account_id)
            .await?
            .is_some_and(|account| account.totp_sealed.is_some());
        if enrolled {
            // Replacing a working second factor is as sensitive as what it protects: a
            // stolen session must not swap in the thief's authenticator. It is managing
            // one's own credentials, which the PDP wants a step-up for.
            let record = self.record(context, "auth.totp.enrol", AuditOutcome::Denied);
            self.authorize(context, self.credential_question(context), record)
                .await?;
        }
        let totp = yunjian_gm::Totp::generate();
        let sealed = sealing.seal(totp.secret(), TOTP_SEAL_CONTEXT);
        let id = context.principal.account_id;
        let mut tx = self.store.begin_write().await?;
        tx.set_totp_pending(id, &sealed, self.now_ns()).await?;
        tx.append_audit(&self.account_record(
            context,
            "auth.totp.enrol",
            id,
            AuditOutcome::Succeeded,
        ))
        .await?;
        tx.commit().await?;
        Ok(TotpEnrolment {
            secret_base32: totp.to_base32().to_string(),
            otpauth_uri: totp.otpauth_uri(TOTP_ISSUER, &context.principal.username),
        })
    }

    /// Confirms enrolment with a current code; returns ten recovery codes, shown once
    /// (stored as SM3 digests).
    pub async fn confirm_totp_enrolment(
        &self,
        context: &Context,
        token: &SessionToken,
        code: &str,
    ) -> Result<Vec<String>, AppError> {
        let id = context.principal.account_id;
        let account = self
            .store
            .account(id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let sealed = account
            .totp_pending_sealed
            .ok_or_else(|| AppError::invalid("code", "no_enrolment", "start an enrolment first"))?;
        let totp = self.unseal_totp(&sealed)?;
        let now = self.now_ns();
        let Some(step) = totp.verify(code, unix_seconds(now), None) else {
            return Err(AppError::invalid(
                "code",
                "wrong_code",
                "the code does not match; check the device's clock",
            ));
        };
        let codes: Vec<String> = (0..10)
            .map(|_| {
                let raw = yunjian_gm::random_secret_hex(5);
                format!("{}-{}", &raw[..5], &raw[5..])
            })
            .collect();
        let digests: Vec<String> = codes.iter().map(|code| recovery_digest(code)).collect();
        let mut tx = self.store.begin_write().await?;
        tx.activate_totp(
            id,
            &sealed,
            i64::try_from(step).unwrap_or(i64::MAX),
            &digests,
            now,
        )
        .await?;
        // The code just proved the factor: it counts as a step-up for this session.
        tx.set_stepped_up(&token.digest(), now).await?;
        tx.append_audit(&self.account_record(
            context,
            "auth.totp.confirm",
            id,
            AuditOutcome::Succeeded,
        ))
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Checks a second factor at login: a TOTP code (each step good once) or an unused
    /// recovery code. Records the accepted step or spends the code in `tx`.
    pub(crate) async fn check_second_factor(
        &self,
        tx: &mut yunjian_store::WriteTx,
        account: &Account,
        code: &str,
        now: i64,
    ) -> Result<bool, AppError> {
        let Some(sealed) = &account.totp_sealed else {
            return Ok(true);
        };
        let totp = self.unseal_totp(sealed)?;
        let last = account
            .totp_last_step
            .and_then(|step| u64::try_from(step).ok());
        if let Some(step) = totp.verify(code, unix_seconds(now), last) {
            tx.set_totp_last_step(account.id, i64::try_from(step).unwrap_or(i64::MAX))
                .await?;
            return Ok(true);
        }
        if code.contains('-') {
            return Ok(tx
                .use_recovery_code(account.id, &recovery_digest(code), now)
                .await?);
        }
        Ok(false)
    }

    /// Proves the second factor again within a session (step-up): a current TOTP code
    /// or an unused recovery code. Attempts share the login rate limit per address; a
    /// wrong code counts towards the account's lock like a wrong password.
    pub async fn step_up(
        &self,
        context: &Context,
        token: &SessionToken,
        code: &str,
    ) -> Result<(), AppError> {
        let id = context.principal.account_id;
        let now = self.now_ns();
        if context
            .credential
            .as_deref()
            .is_some_and(|credential| credential.starts_with("key:"))
        {
            return Err(AppError::Forbidden(
                "a step-up belongs to an interactive session, not an API key".into(),
            ));
        }
        if let Some(address) = &context.source_address {
            if !self.login_limiter.admit(address, now) {
                let record = self.account_record(context, "auth.step_up", id, AuditOutcome::Denied);
                self.record_denial(record, "rate limited: too many attempts from this address")
                    .await;
                return Err(AppError::RateLimited);
            }
        }
        let mut tx = self.store.begin_write().await?;
        let account = tx
            .account_for_update(id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if account.totp_sealed.is_none() {
            return Err(AppError::invalid(
                "code",
                "no_second_factor",
                "enrol a second factor (TOTP) first",
            ));
        }
        if self
            .check_second_factor(&mut tx, &account, code, now)
            .await?
        {
            tx.set_stepped_up(&token.digest(), now).await?;
            tx.append_audit(&self.account_record(
                context,
                "auth.step_up",
                id,
                AuditOutcome::Succeeded,
            ))
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        drop(tx);
        let mut record = self.account_record(context, "auth.step_up", id, AuditOutcome::Failed);
        record.reason = Some("wrong second factor".into());
        self.count_failure(id, record, now).await?;
        Err(AppError::invalid(
            "code",
            "wrong_code",
            "the code does not match (or was used already)",
        ))
    }

    pub fn with_identity(mut self, settings: IdentitySettings) -> App {
        self.identity = std::sync::Arc::new(settings);
        self
    }

    pub fn identity_settings(&self) -> &IdentitySettings {
        &self.identity
    }

    pub(crate) fn password_change_required(&self, account: &Account, now_ns: i64) -> bool {
        account.must_change_password
            || self
                .identity
                .password
                .age(account.password_changed_at_ns, now_ns)
                == PasswordAge::Expired
    }

    /// Where the caller's password stands (for reminders before expiry).
    pub async fn password_age(&self, context: &Context) -> Result<PasswordAge, AppError> {
        let account = self
            .store
            .account(context.principal.account_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(self
            .identity
            .password
            .age(account.password_changed_at_ns, self.now_ns()))
    }

    /// Counts a wrong password against the account and locks it when the policy says;
    /// the failure and any lock are recorded in the same transaction.
    pub(crate) async fn count_failure(
        &self,
        id: AccountId,
        failed: NewAuditRecord,
        now: i64,
    ) -> Result<(), AppError> {
        let mut tx = self.store.begin_write().await?;
        let Some(account) = tx.account_for_update(id).await? else {
            return Err(AppError::BadCredentials);
        };
        let mut state = account.lock_state.clone();
        let event = state.on_failure(now, &self.identity.lockout);
        tx.set_lock_state(id, &state, now).await?;
        tx.append_audit(&failed).await?;
        if let Some(event) = event {
            let mut lock = failed.clone();
            lock.action = "auth.lockout".into();
            lock.outcome = AuditOutcome::Succeeded;
            lock.reason = None;
            lock.detail = Some(match event {
                LockEvent::Locked { until_ns } => json!({
                    "locked_until": yunjian_core::audit::format_time(until_ns),
                    "failures": self.identity.lockout.max_failures,
                }),
                LockEvent::Escalated => json!({"administrator_unlock_required": true}),
            });
            tx.append_audit(&lock).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Changes the caller's own password: the current one, the policy, the history and
    /// the minimum age (waived when a change is forced). Ends the account's other
    /// sessions.
    pub async fn change_password(
        &self,
        context: &Context,
        token: &SessionToken,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let id = context.principal.account_id;
        let account = self
            .store
            .account(id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.now_ns();
        if !self
            .check_password(current.to_owned(), account.password_hash.clone())
            .await?
        {
            let record = self.record(context, "auth.password.change", AuditOutcome::Denied);
            self.record_denial(record, "the current password is wrong")
                .await;
            return Err(AppError::invalid(
                "current_password",
                "wrong_password",
                "the current password is wrong",
            ));
        }
        let policy = &self.identity.password;
        let mut problems = policy.check(new, &account.username);
        let forced = self.password_change_required(&account, now);
        if !policy.may_change(account.password_changed_at_ns, now, forced) {
            problems.push(PasswordProblem::TooSoon {
                min_age_days: policy.min_age_days,
            });
        }
        let mut earlier = vec![account.password_hash.clone()];
        earlier.extend(account.password_history.iter().cloned());
        earlier.truncate(policy.history);
        for hash in &earlier {
            if self.check_password(new.to_owned(), hash.clone()).await? {
                problems.push(PasswordProblem::Reused {
                    history: policy.history,
                });
                break;
            }
        }
        if !problems.is_empty() {
            return Err(password_errors("new_password", &problems));
        }
        let hash = self.hash_password(new.to_owned()).await?;
        let mut tx = self.store.begin_write().await?;
        tx.set_password(id, &hash, &earlier, false, now).await?;
        let ended = tx.delete_sessions_of(id, Some(&token.digest())).await?;
        let mut record = self.record(context, "auth.password.change", AuditOutcome::Succeeded);
        record.object_kind = Some("account".into());
        record.object_id = Some(id.0);
        record.tenant_id = account.tenant.map(|t| t.0);
        record.detail = Some(json!({ "forced": forced, "other_sessions_ended": ended }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    fn account_record(
        &self,
        context: &Context,
        action: &str,
        id: AccountId,
        outcome: AuditOutcome,
    ) -> NewAuditRecord {
        let mut record = self.record(context, action, outcome);
        record.object_kind = Some("account".into());
        record.object_id = Some(id.0);
        record
    }

    /// A system administrator resets another account's password: a one-time password,
    /// changed at the next login; the account's sessions end.
    pub async fn reset_password(
        &self,
        context: &Context,
        id: AccountId,
    ) -> Result<String, AppError> {
        // The system administrator's (三员), never on oneself: change your own password
        // with your current one.
        let decision = self
            .authorize_account(
                context,
                yunjian_policy::Action::AccountPasswordReset,
                Some(id),
            )
            .await?;
        let account = self.store.account(id).await?.ok_or(AppError::NotFound)?;
        let password = random_password(20);
        let hash = self.hash_password(password.clone()).await?;
        let now = self.now_ns();
        let mut history = vec![account.password_hash.clone()];
        history.extend(account.password_history.iter().cloned());
        history.truncate(self.identity.password.history);
        let mut tx = self.store.begin_write().await?;
        tx.set_password(id, &hash, &history, true, now).await?;
        let ended = tx.delete_sessions_of(id, None).await?;
        let mut record = self.account_record(
            context,
            "account.password.reset",
            id,
            AuditOutcome::Succeeded,
        );
        record.tenant_id = account.tenant.map(|t| t.0);
        record.detail = Some(json!({ "username": account.username, "sessions_ended": ended }));
        crate::authz::stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(password)
    }

    /// A system administrator unlocks a locked account (the only way out of an
    /// escalated lock).
    pub async fn unlock_account(&self, context: &Context, id: AccountId) -> Result<(), AppError> {
        // Another system administrator unlocks your account.
        let decision = self
            .authorize_account(context, yunjian_policy::Action::AccountUnlock, Some(id))
            .await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let account = tx.account_for_update(id).await?.ok_or(AppError::NotFound)?;
        let mut state = account.lock_state.clone();
        let was = format!("{:?}", state.lock(now));
        state.unlock();
        tx.set_lock_state(id, &state, now).await?;
        let mut record =
            self.account_record(context, "account.unlock", id, AuditOutcome::Succeeded);
        record.tenant_id = account.tenant.map(|t| t.0);
        record.detail = Some(json!({ "username": account.username, "was": was }));
        crate::authz::stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }
}
