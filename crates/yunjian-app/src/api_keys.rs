//! API keys and signed requests (guide 7.3.1.1). An account makes keys for its
//! integrations (after a step-up); the secret is shown once and kept SM4-sealed. A
//! request signed with the key (HMAC-SM3, the SigV4 construction in yunjian-gm) acts as
//! the account: the same PDP, the same audit records with `key:<id>` as credential.
//! Refused: unknown or revoked keys, a bad signature, a body that does not hash to what
//! was signed, a clock more than five minutes off, and a nonce seen before.

use serde_json::json;
use yunjian_gm::request_signing::{self as rs, SignedParts, Sm3V1};
use yunjian_policy::{Action, Relation, Target};
use yunjian_store::{ApiKey, AuditOutcome, NewAuditRecord};

use crate::auth::{principal_of, totp_enrolment_required, Authenticated};
use crate::authz::stamp;
use crate::error::AppError;
use crate::{App, Context};

/// The region and service in a yunjian signing scope.
pub const SIGNING_REGION: &str = rs::YUNJIAN_REGION;
pub const SIGNING_SERVICE: &str = rs::YUNJIAN_SERVICE;
/// Headers every signed request signs.
pub const REQUIRED_SIGNED_HEADERS: [&str; 4] =
    ["host", "x-yj-content-sm3", "x-yj-date", "x-yj-nonce"];
/// How far the client's clock may be from ours.
pub const MAX_SKEW_NS: i64 = 5 * 60 * 1_000_000_000;
const API_KEY_SEAL_CONTEXT: &[u8] = b"yunjian api key v1";

/// A key just made: the secret is shown this once.
#[derive(Clone)]
pub struct CreatedApiKey {
    pub access_key_id: String,
    pub secret: String,
    pub label: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A request as the verifier sees it.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// All request headers (names any case).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub source_address: Option<&'a str>,
    pub request_id: &'a str,
}

/// Parses `YYYYMMDD'T'HHMMSS'Z'`.
fn parse_signing_time(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .ok()
        .and_then(|time| time.and_utc().timestamp_nanos_opt())
}

/// Formats a time the way signed requests carry it.
pub fn signing_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

impl App {
    /// The PDP question of managing one's own credentials (API keys, the second factor).
    pub(crate) fn credential_question(
        &self,
        context: &Context,
    ) -> yunjian_policy::Question<'static> {
        self.question(
            context,
            Action::CredentialManage,
            Target::family("credential"),
            Relation::OwnAccount,
        )
    }

    /// Makes an API key for the caller's own account (after a step-up).
    pub async fn create_api_key(
        &self,
        context: &Context,
        label: &str,
    ) -> Result<CreatedApiKey, AppError> {
        let record = self.record(context, "credential.create", AuditOutcome::Denied);
        let decision = self
            .authorize(context, self.credential_question(context), record)
            .await?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(AppError::invalid(
                "label",
                "required",
                "'label' names the key's use, in 1 to 100 characters",
            ));
        }
        let sealing = self.sealing.as_deref().ok_or_else(|| AppError::Conflict {
            field: None,
            message: "API keys need the sealing key (run `yunjian admin init`)".into(),
        })?;
        let access_key_id = format!(
            "YJAK{}",
            yunjian_gm::random_secret_hex(8).to_ascii_uppercase()
        );
        let secret = yunjian_gm::random_secret_hex(20);
        let now = self.now_ns();
        let key = ApiKey {
            access_key_id: access_key_id.clone(),
            account: context.principal.account_id,
            label: label.to_owned(),
            secret_sealed: sealing.seal(secret.as_bytes(), API_KEY_SEAL_CONTEXT),
            created_at_ns: now,
            last_used_at_ns: None,
            revoked_at_ns: None,
        };
        let mut tx = self.store.begin_write().await?;
        tx.insert_api_key(&key).await?;
        let mut record = self.record(context, "credential.create", AuditOutcome::Succeeded);
        record.object_kind = Some("api_key".into());
        record.object_id = Some(context.principal.account_id.0);
        record.detail = Some(json!({ "access_key_id": access_key_id, "label": label }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(CreatedApiKey {
            access_key_id,
            secret,
            label: label.to_owned(),
        })
    }

    /// The caller's own keys (never their secrets).
    pub async fn api_keys(&self, context: &Context) -> Result<Vec<ApiKey>, AppError> {
        Ok(self.store.api_keys_of(context.principal.account_id).await?)
    }

    /// Revokes one of the caller's keys. Revoking is never refused for lack of a
    /// step-up: taking a credential away is always safe.
    pub async fn revoke_api_key(
        &self,
        context: &Context,
        access_key_id: &str,
    ) -> Result<(), AppError> {
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if !tx
            .revoke_api_key(access_key_id, context.principal.account_id, now)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(context, "credential.revoke", AuditOutcome::Succeeded);
        record.object_kind = Some("api_key".into());
        record.object_id = Some(context.principal.account_id.0);
        record.detail = Some(json!({ "access_key_id": access_key_id }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Verifies a signed request and answers who made it. Every refusal is recorded
    /// (`auth.signature`, with the reason) and answered alike.
    pub async fn authenticate_signed(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<(Authenticated, String), AppError> {
        match self.verify_signed(request).await {
            Ok(found) => Ok(found),
            Err((reason, key)) => {
                let mut record =
                    NewAuditRecord::new(self.now_ns(), "auth.signature", AuditOutcome::Failed);
                record.source_address = request.source_address.map(str::to_owned);
                record.request_id = Some(request.request_id.to_owned());
                record.actor_credential = key.as_ref().map(|k| format!("key:{}", k.access_key_id));
                record.actor_account_id = key.as_ref().map(|k| k.account.0);
                record.reason = Some(reason.into());
                record.detail = Some(json!({ "method": request.method, "path": request.path }));
                self.append_audit_grouped(record).await?;
                Err(AppError::Unauthenticated)
            }
        }
    }

    async fn verify_signed(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<(Authenticated, String), (&'static str, Option<ApiKey>)> {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let parsed = header("authorization")
            .and_then(rs::parse_authorization::<Sm3V1>)
            .ok_or(("malformed authorization", None))?;
        let key = self
            .store
            .api_key(&parsed.access_key_id)
            .await
            .map_err(|_| ("store unavailable", None))?
            .ok_or(("unknown key", None))?;
        let fail = |reason: &'static str| (reason, Some(key.clone()));
        if key.revoked_at_ns.is_some() {
            return Err(fail("revoked key"));
        }
        if parsed.region != SIGNING_REGION || parsed.service != SIGNING_SERVICE {
            return Err(fail("wrong scope"));
        }
        if REQUIRED_SIGNED_HEADERS
            .iter()
            .any(|required| !parsed.signed_headers.iter().any(|h| h == required))
        {
            return Err(fail("a required header is not signed"));
        }
        let mut signed = Vec::with_capacity(parsed.signed_headers.len());
        for name in &parsed.signed_headers {
            let value = header(name).ok_or(fail("a signed header is missing"))?;
            signed.push((name.clone(), value.to_owned()));
        }
        let time_text = header("x-yj-date").unwrap_or("");
        let time = parse_signing_time(time_text).ok_or(fail("bad x-yj-date"))?;
        let now = self.now_ns();
        if (now - time).abs() > MAX_SKEW_NS {
            return Err(fail("clock skew over five minutes"));
        }
        if !time_text.starts_with(&parsed.date) {
            return Err(fail("scope date differs from x-yj-date"));
        }
        let body_hash = yunjian_gm::Sm3Digest::of(request.body).to_hex();
        if !header("x-yj-content-sm3")
            .is_some_and(|claimed| claimed.eq_ignore_ascii_case(&body_hash))
        {
            return Err(fail("body does not match x-yj-content-sm3"));
        }
        let sealing = self.sealing.as_deref().ok_or(fail("no sealing key"))?;
        let secret = sealing
            .open(&key.secret_sealed, API_KEY_SEAL_CONTEXT)
            .map_err(|_| fail("sealed secret unreadable"))?;
        let secret =
            String::from_utf8(secret.to_vec()).map_err(|_| fail("sealed secret unreadable"))?;
        let expected = rs::signature::<Sm3V1>(
            &secret,
            time_text,
            SIGNING_REGION,
            SIGNING_SERVICE,
            &SignedParts {
                method: request.method,
                path: request.path,
                query: request.query,
                headers: &signed,
                body_hash: &body_hash,
            },
        );
        if !rs::signatures_equal(&expected, &parsed.signature) {
            return Err(fail("bad signature"));
        }
        let account = self
            .store
            .account(key.account)
            .await
            .map_err(|_| fail("store unavailable"))?
            .ok_or(fail("no account"))?;
        if account.disabled
            || self.password_change_required(&account, now)
            || totp_enrolment_required(&account)
        {
            return Err(fail(
                "account not usable (disabled, password change or second factor pending)",
            ));
        }
        let nonce = header("x-yj-nonce").unwrap_or("");
        if nonce.len() < 16 || nonce.len() > 64 {
            return Err(fail("nonce must be 16 to 64 characters"));
        }
        let fresh = async {
            let mut tx = self.store.begin_write().await?;
            let fresh = tx
                .use_nonce(&key.access_key_id, nonce, now, now - 2 * MAX_SKEW_NS)
                .await?;
            tx.commit().await?;
            Ok::<bool, yunjian_store::StoreError>(fresh)
        }
        .await
        .map_err(|_| fail("store unavailable"))?;
        if !fresh {
            return Err(fail("replayed nonce"));
        }
        Ok((
            Authenticated {
                principal: principal_of(&account),
                csrf_token: String::new(),
                // An API key never counts as a fresh second factor: sensitive actions
                // (exports, role assignment, approvals) stay with interactive sessions.
                second_factor_at_ns: None,
            },
            format!("key:{}", key.access_key_id),
        ))
    }
}
