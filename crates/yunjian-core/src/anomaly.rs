//! The anomaly report over audit records (7.5.10.3): unusual activity an auditor should
//! look at. Pure: records and thresholds in, findings out.
//!
//! Rules, each a plain threshold so an auditor can reason about what was and was not
//! flagged: bursts of denied or failed requests by one actor or address; bursts of failed
//! logins; successful logins at unusual hours (Beijing time) or from an address the
//! account has not used in the lookback; mass exports.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::audit::{AuditOutcome, NewAuditRecord};

const MINUTE_NS: i64 = 60 * 1_000_000_000;

/// Events (sequence number, time) grouped by (actor, address).
type Grouped = BTreeMap<(Option<String>, Option<String>), Vec<(u64, i64)>>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Denied or failed requests by one actor or address within `burst_window_ns`.
    pub denied_burst: usize,
    pub burst_window_ns: i64,
    /// Failed logins for one name or address within `login_window_ns`.
    pub failed_logins: usize,
    pub login_window_ns: i64,
    /// Beijing-time hours [start, end) that are unusual for a login (wraps midnight).
    pub quiet_hours: (u32, u32),
    /// Exports by one actor within `export_window_ns`.
    pub exports: usize,
    pub export_window_ns: i64,
    /// An export of more records than this is mass by itself.
    pub export_records: u64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            denied_burst: 10,
            burst_window_ns: 5 * MINUTE_NS,
            failed_logins: 5,
            login_window_ns: 15 * MINUTE_NS,
            quiet_hours: (22, 6),
            exports: 3,
            export_window_ns: 60 * MINUTE_NS,
            export_records: 100_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    DeniedBurst,
    FailedLogins,
    UnusualHourLogin,
    NewAddressLogin,
    MassExport,
}

impl AnomalyKind {
    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (AnomalyKind::DeniedBurst, true) => "拒绝请求突增",
            (AnomalyKind::DeniedBurst, false) => "Burst of denied requests",
            (AnomalyKind::FailedLogins, true) => "登录失败突增",
            (AnomalyKind::FailedLogins, false) => "Burst of failed logins",
            (AnomalyKind::UnusualHourLogin, true) => "非常规时段登录",
            (AnomalyKind::UnusualHourLogin, false) => "Login at an unusual hour",
            (AnomalyKind::NewAddressLogin, true) => "新地址登录",
            (AnomalyKind::NewAddressLogin, false) => "Login from a new address",
            (AnomalyKind::MassExport, true) => "批量导出",
            (AnomalyKind::MassExport, false) => "Mass export",
        }
    }
}

/// One finding: what, who, where from, which records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub actor: Option<String>,
    pub address: Option<String>,
    pub count: usize,
    pub first_seq: u64,
    pub last_seq: u64,
    pub first_at_ns: i64,
    pub last_at_ns: i64,
}

/// Sliding windows over (seq, time) per key: one finding per key, spanning every event
/// that lies in some window of `window_ns` holding at least `threshold` events.
fn bursts(
    kind: AnomalyKind,
    events: Grouped,
    threshold: usize,
    window_ns: i64,
    out: &mut Vec<Anomaly>,
) {
    for ((actor, address), mut events) in events {
        events.sort_by_key(|(seq, at)| (*at, *seq));
        let mut start = 0;
        let mut span: Option<(usize, usize)> = None;
        for end in 0..events.len() {
            while events[end].1 - events[start].1 > window_ns {
                start += 1;
            }
            if end + 1 - start >= threshold {
                span = Some(span.map_or((start, end), |(first, _)| (first, end)));
            }
        }
        if let Some((first, last)) = span {
            let run = &events[first..=last];
            out.push(Anomaly {
                kind,
                actor,
                address,
                count: run.len(),
                first_seq: run.iter().map(|e| e.0).min().unwrap_or(0),
                last_seq: run.iter().map(|e| e.0).max().unwrap_or(0),
                first_at_ns: run[0].1,
                last_at_ns: run[run.len() - 1].1,
            });
        }
    }
}

fn beijing_hour(at_ns: i64) -> u32 {
    let seconds = at_ns.div_euclid(1_000_000_000) + 8 * 3600;
    (seconds.rem_euclid(86_400) / 3600) as u32
}

fn in_quiet_hours(hour: u32, (start, end): (u32, u32)) -> bool {
    if start <= end {
        hour >= start && hour < end
    } else {
        hour >= start || hour < end
    }
}

/// Findings for `window` (records with their sequence numbers), given `history`: earlier
/// records used only to learn each account's usual login addresses.
pub fn detect(
    window: &[(u64, NewAuditRecord)],
    history: &[(u64, NewAuditRecord)],
    thresholds: &Thresholds,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let mut denied = Grouped::new();
    let mut failed_logins = Grouped::new();
    let mut exports = Grouped::new();
    let mut known: HashSet<(String, String)> = history
        .iter()
        .filter(|(_, r)| r.action == "auth.login" && r.outcome == AuditOutcome::Succeeded)
        .filter_map(|(_, r)| Some((r.actor_username.clone()?, r.source_address.clone()?)))
        .collect();
    let had_history: HashSet<String> = known.iter().map(|(user, _)| user.clone()).collect();
    let mut ordered: Vec<&(u64, NewAuditRecord)> = window.iter().collect();
    ordered.sort_by_key(|(seq, _)| *seq);
    for (seq, record) in ordered {
        let single = |kind| Anomaly {
            kind,
            actor: record.actor_username.clone(),
            address: record.source_address.clone(),
            count: 1,
            first_seq: *seq,
            last_seq: *seq,
            first_at_ns: record.at_ns,
            last_at_ns: record.at_ns,
        };
        let login = record.action == "auth.login";
        if record.outcome != AuditOutcome::Succeeded && !login {
            denied
                .entry((record.actor_username.clone(), record.source_address.clone()))
                .or_default()
                .push((*seq, record.at_ns));
        }
        if login && record.outcome == AuditOutcome::Failed {
            failed_logins
                .entry((None, record.source_address.clone()))
                .or_default()
                .push((*seq, record.at_ns));
            failed_logins
                .entry((record.actor_username.clone(), None))
                .or_default()
                .push((*seq, record.at_ns));
        }
        if login && record.outcome == AuditOutcome::Succeeded {
            if in_quiet_hours(beijing_hour(record.at_ns), thresholds.quiet_hours) {
                out.push(single(AnomalyKind::UnusualHourLogin));
            }
            if let (Some(user), Some(address)) = (&record.actor_username, &record.source_address) {
                // An account's first login ever is not "new address": there is nothing
                // to compare with.
                let pair = (user.clone(), address.clone());
                if !known.contains(&pair) && had_history.contains(user) {
                    out.push(single(AnomalyKind::NewAddressLogin));
                }
                known.insert(pair);
            }
        }
        if record.action == "audit.export" && record.outcome == AuditOutcome::Succeeded {
            let size = record
                .detail
                .as_ref()
                .and_then(|detail| detail.get("records"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            if size > thresholds.export_records {
                out.push(single(AnomalyKind::MassExport));
            }
            exports
                .entry((record.actor_username.clone(), None))
                .or_default()
                .push((*seq, record.at_ns));
        }
    }
    bursts(
        AnomalyKind::DeniedBurst,
        denied,
        thresholds.denied_burst,
        thresholds.burst_window_ns,
        &mut out,
    );
    bursts(
        AnomalyKind::FailedLogins,
        failed_logins,
        thresholds.failed_logins,
        thresholds.login_window_ns,
        &mut out,
    );
    bursts(
        AnomalyKind::MassExport,
        exports,
        thresholds.exports,
        thresholds.export_window_ns,
        &mut out,
    );
    out.sort_by_key(|a| (a.first_seq, a.kind));
    out
}

#[cfg(test)]
mod tests;
