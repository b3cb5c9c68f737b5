//! Audit records and their canonical line, the leaf bytes of the audit ledger.
//!
//! Line format `yunjian-audit-line/v1` (docs/audit-ledger.md): one JSON object, compact,
//! UTF-8, no newline, keys in this fixed order:
//! `v, seq, at, source_at, actor{account, username, role, tenant, provider, address,
//! credential}, action, object{kind, id}, tenant, outcome, reason, request_id, before,
//! after, detail`. `at` and `source_at` are RFC 3339 UTC with nine fractional digits.
//! Absent values are `null`, never omitted. The line is made once, when the record is
//! appended, and stored as made: verification hashes the stored bytes, so nothing has to
//! re-create them byte for byte.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The version written into every line (`"v"`).
pub const LINE_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Succeeded,
    Denied,
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<AuditOutcome> {
        [
            AuditOutcome::Succeeded,
            AuditOutcome::Denied,
            AuditOutcome::Failed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// A record to append. `detail` is a JSON object; it never holds a secret.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditRecord {
    /// Server time, UTC nanoseconds.
    pub at_ns: i64,
    /// The source's own time, when the request carried one (its `Date` header).
    pub source_time_ns: Option<i64>,
    pub actor_account_id: Option<i64>,
    pub actor_username: Option<String>,
    pub actor_role: Option<String>,
    pub actor_tenant_id: Option<i64>,
    pub actor_provider_id: Option<i64>,
    pub source_address: Option<String>,
    /// Which credential acted: `session:ID` or `key:ID`; never the secret itself.
    pub actor_credential: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    /// The tenant that owns the object, so tenants can be shown their own slice.
    pub tenant_id: Option<i64>,
    pub outcome: AuditOutcome,
    pub reason: Option<String>,
    /// `sm3:HEX` digests of the object's canonical JSON before and after the action.
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl NewAuditRecord {
    /// A record with only the essentials set; the rest are filled in by the caller.
    pub fn new(at_ns: i64, action: &str, outcome: AuditOutcome) -> NewAuditRecord {
        NewAuditRecord {
            at_ns,
            source_time_ns: None,
            actor_account_id: None,
            actor_username: None,
            actor_role: None,
            actor_tenant_id: None,
            actor_provider_id: None,
            source_address: None,
            actor_credential: None,
            request_id: None,
            action: action.to_owned(),
            object_kind: None,
            object_id: None,
            tenant_id: None,
            outcome,
            reason: None,
            before_digest: None,
            after_digest: None,
            detail: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineActor {
    account: Option<i64>,
    username: Option<String>,
    role: Option<String>,
    tenant: Option<i64>,
    provider: Option<i64>,
    address: Option<String>,
    credential: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineObject {
    kind: Option<String>,
    id: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    v: u32,
    seq: u64,
    at: String,
    source_at: Option<String>,
    actor: LineActor,
    action: String,
    object: LineObject,
    tenant: Option<i64>,
    outcome: AuditOutcome,
    reason: Option<String>,
    request_id: Option<String>,
    before: Option<String>,
    after: Option<String>,
    detail: Option<serde_json::Value>,
}

/// A time as RFC 3339 UTC with nine fractional digits.
pub fn format_time(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Result<i64, LineError> {
    // The canonical form (YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ) is read directly: the offline
    // verifier parses two per record, and chrono's general RFC 3339 parser was a visible
    // share of its time. Anything else goes through the general parser.
    if let Some(ns) = parse_canonical_time(text.as_bytes()) {
        return Ok(ns);
    }
    let time = DateTime::parse_from_rfc3339(text)
        .map_err(|_| LineError::Invalid(format!("not an RFC 3339 time: {text:?}")))?;
    if !text.ends_with('Z') {
        return Err(LineError::Invalid(format!("times are UTC ('Z'): {text:?}")));
    }
    time.timestamp_nanos_opt()
        .ok_or_else(|| LineError::Invalid(format!("time out of range: {text:?}")))
}

fn parse_canonical_time(b: &[u8]) -> Option<i64> {
    if b.len() != 30
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[29] != b'Z'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, digit| {
            digit
                .is_ascii_digit()
                .then(|| acc * 10 + u32::from(digit - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?;
    let time = date.and_hms_nano_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        number(20..29)?,
    )?;
    time.and_utc().timestamp_nanos_opt()
}

/// A time as an operator gives it: RFC 3339 as written, or a date `YYYY-MM-DD` meaning
/// 00:00 China Standard Time (UTC+8), the operators' day. `None` when it is neither or
/// falls outside the nanosecond range (years 1677 to 2262).
pub fn parse_operator_time(text: &str) -> Option<i64> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return time.timestamp_nanos_opt();
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(offset)
        .single()?
        .timestamp_nanos_opt()
}

/// The canonical line of record `seq`.
pub fn record_line(seq: u64, record: &NewAuditRecord) -> String {
    let line = Line {
        v: LINE_VERSION,
        seq,
        at: format_time(record.at_ns),
        source_at: record.source_time_ns.map(format_time),
        actor: LineActor {
            account: record.actor_account_id,
            username: record.actor_username.clone(),
            role: record.actor_role.clone(),
            tenant: record.actor_tenant_id,
            provider: record.actor_provider_id,
            address: record.source_address.clone(),
            credential: record.actor_credential.clone(),
        },
        action: record.action.clone(),
        object: LineObject {
            kind: record.object_kind.clone(),
            id: record.object_id,
        },
        tenant: record.tenant_id,
        outcome: record.outcome,
        reason: record.reason.clone(),
        request_id: record.request_id.clone(),
        before: record.before_digest.clone(),
        after: record.after_digest.clone(),
        detail: record.detail.clone(),
    };
    serde_json::to_string(&line).expect("a record serializes")
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not a yunjian-audit-line/v1 record: {0}")]
    Invalid(String),
    #[error("unsupported line version {0}")]
    Version(u64),
}

/// The same shape as [`Line`], borrowing: for checking lines fast (the offline
/// verifier checks millions) without building records.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineCheck<'a> {
    v: u32,
    seq: u64,
    #[serde(borrow)]
    at: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    source_at: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    actor: ActorCheck<'a>,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    object: ObjectCheck<'a>,
    tenant: Option<i64>,
    outcome: AuditOutcome,
    #[serde(borrow)]
    reason: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    request_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    before: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    after: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // fields are checked for shape and type, not read
struct ActorCheck<'a> {
    account: Option<i64>,
    #[serde(borrow)]
    username: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    role: Option<std::borrow::Cow<'a, str>>,
    tenant: Option<i64>,
    provider: Option<i64>,
    #[serde(borrow)]
    address: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    credential: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ObjectCheck<'a> {
    #[serde(borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    id: Option<i64>,
}

/// Checks that a line is a well-formed v1 record (the same rules as [`parse_line`]) and
/// returns its sequence number, without building the record.
pub fn check_line(line: &[u8]) -> Result<u64, LineError> {
    if line.contains(&b'\n') || line.contains(&b'\r') {
        return Err(LineError::Invalid("a line holds no line break".into()));
    }
    match serde_json::from_slice::<LineCheck<'_>>(line) {
        Ok(check) if check.v == LINE_VERSION => {
            parse_time(&check.at)?;
            if let Some(source_at) = &check.source_at {
                parse_time(source_at)?;
            }
            let _ = (
                &check.action,
                &check.object,
                check.tenant,
                check.outcome,
                &check.reason,
            );
            let _ = (
                &check.request_id,
                &check.before,
                &check.after,
                &check.detail,
                &check.actor,
            );
            Ok(check.seq)
        }
        // Another version, or not a v1 line: the full parser names the problem.
        _ => {
            let text =
                std::str::from_utf8(line).map_err(|_| LineError::Invalid("not UTF-8".into()))?;
            parse_line(text).map(|(seq, _)| seq)
        }
    }
}

/// Parses a canonical line back into its sequence number and record.
pub fn parse_line(line: &str) -> Result<(u64, NewAuditRecord), LineError> {
    if line.contains('\n') || line.contains('\r') {
        return Err(LineError::Invalid("a line holds no line break".into()));
    }
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|error| LineError::Invalid(error.to_string()))?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(other) => return Err(LineError::Version(other)),
        None => return Err(LineError::Invalid("no version field \"v\"".into())),
    }
    let parsed: Line =
        serde_json::from_value(value).map_err(|error| LineError::Invalid(error.to_string()))?;
    let record = NewAuditRecord {
        at_ns: parse_time(&parsed.at)?,
        source_time_ns: parsed.source_at.as_deref().map(parse_time).transpose()?,
        actor_account_id: parsed.actor.account,
        actor_username: parsed.actor.username,
        actor_role: parsed.actor.role,
        actor_tenant_id: parsed.actor.tenant,
        actor_provider_id: parsed.actor.provider,
        source_address: parsed.actor.address,
        actor_credential: parsed.actor.credential,
        request_id: parsed.request_id,
        action: parsed.action,
        object_kind: parsed.object.kind,
        object_id: parsed.object.id,
        tenant_id: parsed.tenant,
        outcome: parsed.outcome,
        reason: parsed.reason,
        before_digest: parsed.before,
        after_digest: parsed.after,
        detail: parsed.detail,
    };
    Ok((parsed.seq, record))
}

#[cfg(test)]
mod tests;
