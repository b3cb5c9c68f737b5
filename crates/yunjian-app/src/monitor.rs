//! API monitoring (guide 7.3.1.2, 8.3.6): a per-principal call limit, and a monitor that
//! runs every minute over the last quarter hour of the audit ledger, turning the anomaly
//! rules' findings (bursts of denials and failed logins, logins at unusual hours or from
//! new addresses, mass exports) into stored security events. Each new event is also a
//! ledger record with the concerned tenant, so the tenant sees it in its own slice; the
//! security event centre (a later issue) will consume them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::json;
use yunjian_core::anomaly::AnomalyKind;
use yunjian_policy::{Action, Target};
use yunjian_store::{AuditOutcome, SecurityEvent};

use crate::authz::unit_relation;
use crate::error::AppError;
use crate::{App, Context};

/// API calls per principal per minute, per server instance.
pub const API_CALLS_PER_MINUTE: usize = 600;
const MINUTE_NS: i64 = 60 * 1_000_000_000;
/// How far back each monitor run looks (runs overlap; events are deduplicated).
const MONITOR_WINDOW_NS: i64 = 15 * MINUTE_NS;

pub(crate) struct CallLimiter {
    per_minute: usize,
    calls: Mutex<HashMap<i64, (VecDeque<i64>, i64)>>,
}

impl Default for CallLimiter {
    fn default() -> Self {
        CallLimiter {
            per_minute: API_CALLS_PER_MINUTE,
            calls: Mutex::default(),
        }
    }
}

impl CallLimiter {
    /// Counts a call; `Err(first)` when over the limit, `first` telling whether this is
    /// the first refusal in this minute (only that one is recorded).
    fn admit(&self, account: i64, now_ns: i64) -> Result<(), bool> {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if calls.len() > 100_000 {
            calls.retain(|_, (times, _)| times.back().is_some_and(|t| now_ns - t < MINUTE_NS));
        }
        let (times, last_recorded) = calls.entry(account).or_default();
        while times.front().is_some_and(|t| now_ns - t >= MINUTE_NS) {
            times.pop_front();
        }
        if times.len() >= self.per_minute {
            let first = now_ns - *last_recorded >= MINUTE_NS;
            if first {
                *last_recorded = now_ns;
            }
            return Err(first);
        }
        times.push_back(now_ns);
        Ok(())
    }
}

fn severity(kind: AnomalyKind) -> &'static str {
    match kind {
        AnomalyKind::FailedLogins | AnomalyKind::MassExport => "high",
        AnomalyKind::DeniedBurst => "medium",
        AnomalyKind::UnusualHourLogin | AnomalyKind::NewAddressLogin => "low",
    }
}

fn kind_id(kind: AnomalyKind) -> &'static str {
    match kind {
        AnomalyKind::DeniedBurst => "api.denied_burst",
        AnomalyKind::FailedLogins => "api.failed_logins",
        AnomalyKind::UnusualHourLogin => "api.unusual_hour",
        AnomalyKind::NewAddressLogin => "api.new_address",
        AnomalyKind::MassExport => "api.mass_export",
    }
}

impl App {
    /// Sets the per-principal call limit (per minute, per instance).
    pub fn with_call_limit(mut self, per_minute: usize) -> App {
        self.call_limiter = std::sync::Arc::new(CallLimiter {
            per_minute: per_minute.max(1),
            calls: Mutex::default(),
        });
        self
    }

    /// Counts an API call of the context's principal against its per-minute limit.
    pub async fn admit_call(&self, context: &Context) -> Result<(), AppError> {
        match self
            .call_limiter
            .admit(context.principal.account_id.0, self.now_ns())
        {
            Ok(()) => Ok(()),
            Err(first) => {
                if first {
                    let mut record = self.record(context, "api.rate_limited", AuditOutcome::Denied);
                    record.tenant_id = context.principal.tenant.map(|t| t.0);
                    self.record_denial(
                        record,
                        &format!("over {} API calls a minute", self.call_limiter.per_minute),
                    )
                    .await;
                }
                Err(AppError::RateLimited)
            }
        }
    }

    /// One monitor run over the last quarter hour; answers how many new events it
    /// stored. Runs with the checkpointer, once a minute.
    pub async fn monitor_api(&self) -> Result<usize, AppError> {
        let now = self.now_ns();
        // Up to and including this instant.
        let report = self
            .anomaly_report(now - MONITOR_WINDOW_NS, now + 1)
            .await?;
        let mut events = Vec::new();
        for finding in report.anomalies {
            let account = match &finding.actor {
                Some(name) => self.store.account_by_username(name).await?,
                None => None,
            };
            let kind = kind_id(finding.kind);
            let who = finding.actor.as_deref().unwrap_or("-");
            let address = finding.address.as_deref().unwrap_or("-");
            events.push(SecurityEvent {
                id: 0,
                at_ns: now,
                source: "api-monitor".into(),
                kind: kind.into(),
                severity: severity(finding.kind).into(),
                summary: format!(
                    "{} / {}: {who} from {address}, {} time(s)",
                    finding.kind.label(true),
                    finding.kind.label(false),
                    finding.count
                ),
                account: account.as_ref().map(|a| a.id),
                username: finding.actor.clone(),
                tenant: account.as_ref().and_then(|a| a.tenant),
                provider: account.as_ref().and_then(|a| a.provider),
                source_address: finding.address.clone(),
                first_at_ns: finding.first_at_ns,
                last_at_ns: finding.last_at_ns,
                first_seq: i64::try_from(finding.first_seq).ok(),
                last_seq: i64::try_from(finding.last_seq).ok(),
                event_count: i64::try_from(finding.count).unwrap_or(i64::MAX),
                // One event per finding per quarter hour in which it began.
                dedupe_key: format!(
                    "{kind}:{who}:{address}:{}",
                    finding.first_at_ns.div_euclid(MONITOR_WINDOW_NS)
                ),
            });
        }
        if events.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin_write().await?;
        let mut stored = 0;
        for event in &events {
            if let Some(id) = tx.insert_security_event(event).await? {
                stored += 1;
                let mut record = crate::ledger::local_record(now, "security.event");
                record.actor_username = Some("yunjian-monitor".into());
                record.object_kind = Some("security_event".into());
                record.object_id = Some(id);
                record.tenant_id = event.tenant.map(|t| t.0);
                record.detail = Some(json!({
                    "kind": event.kind, "severity": event.severity, "summary": event.summary,
                    "account_id": event.account.map(|a| a.0), "source_address": event.source_address,
                    "records": [event.first_seq, event.last_seq],
                }));
                tx.append_audit(&record).await?;
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Security events the caller's unit may see: a tenant those about its accounts, a
    /// provider those about its operators, oversight all. Filtered in SQL.
    pub async fn security_events(&self, context: &Context) -> Result<Vec<SecurityEvent>, AppError> {
        let question = self.question(
            context,
            Action::EventRead,
            Target::family("event"),
            unit_relation(&context.principal),
        );
        let record = self.record(context, "event.read", AuditOutcome::Denied);
        self.authorize(context, question, record).await?;
        Ok(self
            .store
            .security_events(self.unit_scope(context), 500)
            .await?)
    }
}
