use super::*;

const SECOND: i64 = 1_000_000_000;
/// 2026-11-24 10:00 Beijing time (02:00 UTC).
const DAYTIME: i64 = 1_795_485_600 * SECOND;

fn record(
    at_ns: i64,
    action: &str,
    outcome: AuditOutcome,
    user: &str,
    address: &str,
) -> NewAuditRecord {
    let mut record = NewAuditRecord::new(at_ns, action, outcome);
    record.actor_username = Some(user.into());
    record.source_address = Some(address.into());
    record
}

fn numbered(records: Vec<NewAuditRecord>) -> Vec<(u64, NewAuditRecord)> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64, r))
        .collect()
}

#[test]
fn quiet_daytime_activity_has_no_findings() {
    let window = numbered(vec![
        record(
            DAYTIME,
            "auth.login",
            AuditOutcome::Succeeded,
            "ops",
            "10.0.0.1",
        ),
        record(
            DAYTIME + SECOND,
            "world.update",
            AuditOutcome::Succeeded,
            "ops",
            "10.0.0.1",
        ),
        record(
            DAYTIME + 2 * SECOND,
            "world.update",
            AuditOutcome::Denied,
            "ops",
            "10.0.0.1",
        ),
    ]);
    let history = numbered(vec![record(
        DAYTIME - 86_400 * SECOND,
        "auth.login",
        AuditOutcome::Succeeded,
        "ops",
        "10.0.0.1",
    )]);
    assert_eq!(detect(&window, &history, &Thresholds::default()), vec![]);
}

#[test]
fn bursts_hours_addresses_and_exports_are_found() {
    let mut records = Vec::new();
    // Nine denials in five minutes is below the threshold; the tenth makes a burst.
    for i in 0..10 {
        records.push(record(
            DAYTIME + i * 20 * SECOND,
            "world.delete",
            AuditOutcome::Denied,
            "mallory",
            "203.0.113.9",
        ));
    }
    for i in 0..5 {
        records.push(record(
            DAYTIME + i * SECOND,
            "auth.login",
            AuditOutcome::Failed,
            &format!("guess{i}"),
            "198.51.100.7",
        ));
    }
    // 23:30 Beijing time.
    records.push(record(
        DAYTIME + (13 * 3600 + 1800) * SECOND,
        "auth.login",
        AuditOutcome::Succeeded,
        "ops",
        "10.0.0.1",
    ));
    records.push(record(
        DAYTIME + 60 * SECOND,
        "auth.login",
        AuditOutcome::Succeeded,
        "ops",
        "10.9.9.9",
    ));
    let mut export = record(
        DAYTIME,
        "audit.export",
        AuditOutcome::Succeeded,
        "auditor",
        "10.0.0.5",
    );
    export.detail = Some(serde_json::json!({"records": 250_000}));
    records.push(export);
    let history = numbered(vec![record(
        DAYTIME - 86_400 * SECOND,
        "auth.login",
        AuditOutcome::Succeeded,
        "ops",
        "10.0.0.1",
    )]);
    let found = detect(&numbered(records), &history, &Thresholds::default());
    let kinds: Vec<AnomalyKind> = found.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&AnomalyKind::DeniedBurst), "{found:?}");
    assert!(kinds.contains(&AnomalyKind::FailedLogins));
    assert!(kinds.contains(&AnomalyKind::UnusualHourLogin));
    assert!(kinds.contains(&AnomalyKind::NewAddressLogin));
    assert!(kinds.contains(&AnomalyKind::MassExport));
    let burst = found
        .iter()
        .find(|a| a.kind == AnomalyKind::DeniedBurst)
        .expect("burst");
    assert_eq!((burst.count, burst.first_seq, burst.last_seq), (10, 0, 9));
    assert_eq!(burst.actor.as_deref(), Some("mallory"));
    // The failed logins are grouped by address (the names differ each time).
    let logins = found
        .iter()
        .find(|a| a.kind == AnomalyKind::FailedLogins)
        .expect("logins");
    assert_eq!(logins.address.as_deref(), Some("198.51.100.7"));
    assert_eq!(logins.count, 5);
}

#[test]
fn nine_denials_are_not_a_burst() {
    let records = (0..9)
        .map(|i| {
            record(
                DAYTIME + i * SECOND,
                "world.delete",
                AuditOutcome::Denied,
                "x",
                "10.0.0.2",
            )
        })
        .collect();
    assert_eq!(
        detect(&numbered(records), &[], &Thresholds::default()),
        vec![]
    );
}
