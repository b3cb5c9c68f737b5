//! The audit ledger through the app: every action lands in it, exports verify offline,
//! tenants see and export only their slice, roles without audit access are refused and
//! recorded, checkpoints come due, archives prune only after retention, and tampering
//! in the database is found.

use serde_json::json;
use yunjian_app::{App, AppError, AuditQuery, ExportRange, LedgerSettings};
use yunjian_bundle::{verify_bundle, Scope};
use yunjian_core::anomaly::AnomalyKind;
use yunjian_core::audit::parse_line;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_gm::SealingKey;
use yunjian_store::AuditOutcome;

use super::{context, harness, object, world, Harness, START_NS};

const MONTH_NS: i64 = 31 * 86_400 * 1_000_000_000;

/// The harness's app with a signing key made the way `admin init` makes it.
async fn signed(h: &Harness, settings: LedgerSettings) -> (App, String) {
    let sealing = SealingKey::generate();
    let app = h.app.clone().with_ledger(settings.clone(), None);
    let key = app.create_signing_key(&sealing).await.expect("key");
    let signer = App::load_signer(app.store(), &sealing)
        .await
        .expect("unseal")
        .expect("stored");
    (app.with_ledger(settings, Some(signer)), key)
}

fn auditor() -> yunjian_app::Context {
    context(Role::SecurityAuditor, None, None)
}

/// Exports as `who`, who proved a second factor just now (exports want a step-up).
async fn export(app: &App, who: &yunjian_app::Context, range: ExportRange) -> Vec<u8> {
    let mut bundle = Vec::new();
    let mut who = who.clone();
    who.second_factor_at_ns = Some(app.now_ns());
    app.audit_export(&who, &range, &mut bundle)
        .await
        .expect("export");
    bundle
}

#[tokio::test]
async fn every_action_lands_in_the_ledger_and_an_export_verifies_offline() {
    let h = harness().await;
    let (app, key) = signed(&h, LedgerSettings::default()).await;
    let w = world(&h).await;
    let mut admin = h.admin.clone();
    admin.source_time_ns = Some(START_NS - 2_000_000_000);
    admin.credential = Some("session:0123456789abcdef".into());
    let vpc = w.vpcs[0];
    app.update(&admin, Kind::Vpc, vpc, &object(json!({"name": "改名-VPC"})))
        .await
        .expect("update");
    let _ = app
        .login(
            "sysadmin",
            "Tr0ub4dor&3-guess",
            "req-x",
            Some("198.51.100.7"),
        )
        .await;
    let reader = context(Role::Auditor, None, None);
    let _ = app
        .delete(&reader, Kind::Vpc, vpc)
        .await
        .expect_err("auditors do not delete");

    let bundle = export(&app, &auditor(), ExportRange::default()).await;
    let verified =
        verify_bundle(&bundle[..], Some(&key), None, &|_| {}).expect("the export verifies");
    assert_eq!(verified.manifest.scope, Scope::Range);
    let lines: Vec<(u64, yunjian_core::audit::NewAuditRecord)> =
        tar_entry(&bundle, "records.jsonl")
            .lines()
            .map(|line| parse_line(line).expect("v1 line"))
            .collect();
    assert_eq!(
        lines.len() as u64,
        verified.checkpoint.size,
        "the whole ledger, the export's own record included"
    );
    let actions: Vec<&str> = lines.iter().map(|(_, r)| r.action.as_str()).collect();
    for action in [
        "account.create",
        "audit.key.create",
        "world.create",
        "world.update",
        "auth.login",
        "audit.export",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let update = lines
        .iter()
        .find(|(_, r)| r.action == "world.update")
        .map(|(_, r)| r)
        .expect("update");
    assert!(update
        .before_digest
        .as_deref()
        .is_some_and(|d| d.starts_with("sm3:")));
    assert_ne!(update.before_digest, update.after_digest);
    assert_eq!(update.source_time_ns, Some(START_NS - 2_000_000_000));
    assert_eq!(
        update.actor_credential.as_deref(),
        Some("session:0123456789abcdef")
    );
    let failed = lines
        .iter()
        .find(|(_, r)| r.action == "auth.login" && r.outcome == AuditOutcome::Failed)
        .expect("failed login recorded");
    assert_eq!(failed.1.source_address.as_deref(), Some("198.51.100.7"));
    let text = tar_entry(&bundle, "records.jsonl");
    assert!(
        !text.contains("Tr0ub4dor&3-guess"),
        "no secret in records: {}",
        text.lines()
            .find(|line| line.contains("Tr0ub4dor&3-guess"))
            .unwrap_or("")
    );
    let denied = lines
        .iter()
        .find(|(_, r)| r.action == "world.delete" && r.outcome == AuditOutcome::Denied)
        .expect("denied delete recorded");
    assert_eq!(denied.1.object_id, Some(vpc));
    // Sequence numbers are the positions.
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, (seq, _))| *seq == i as u64));
}

/// The named file's text inside a bundle.
fn tar_entry(bundle: &[u8], name: &str) -> String {
    let mut archive = tar::Archive::new(bundle);
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").to_string_lossy() == name {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).expect("utf-8");
            return text;
        }
    }
    panic!("{name} not in the bundle")
}

#[tokio::test]
async fn tenants_read_prove_and_export_only_their_own_slice() {
    let h = harness().await;
    let (app, key) = signed(&h, LedgerSettings::default()).await;
    let w = world(&h).await;
    let mine = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    let records = app
        .audit_records(
            &mine,
            &AuditQuery {
                limit: 1000,
                ..AuditQuery::default()
            },
        )
        .await
        .expect("read");
    assert!(!records.is_empty());
    assert!(records
        .iter()
        .all(|r| r.record.tenant_id == Some(w.tenants[0])));
    // Asking for the other tenant's records gives nothing, not an error that confirms them.
    let other = app
        .audit_records(
            &mine,
            &AuditQuery {
                tenant_id: Some(w.tenants[1]),
                limit: 1000,
                ..AuditQuery::default()
            },
        )
        .await
        .expect("read");
    assert!(other.is_empty());
    let theirs = app
        .audit_records(
            &auditor(),
            &AuditQuery {
                tenant_id: Some(w.tenants[1]),
                limit: 1,
                ..AuditQuery::default()
            },
        )
        .await
        .expect("auditor reads all")[0]
        .seq;
    assert!(matches!(
        app.audit_record(&mine, theirs).await,
        Err(AppError::NotFound)
    ));
    let checkpoint = app.current_checkpoint().await.expect("checkpoint");
    assert!(matches!(
        app.audit_inclusion_proof(&mine, theirs, checkpoint.size)
            .await,
        Err(AppError::NotFound)
    ));
    let own = records[0].seq;
    assert!(app
        .audit_inclusion_proof(&mine, own, checkpoint.size)
        .await
        .is_ok());
    // The slice export carries only this tenant's records, each proven.
    let bundle = export(&app, &mine, ExportRange::default()).await;
    let verified =
        verify_bundle(&bundle[..], Some(&key), None, &|_| {}).expect("the slice verifies");
    assert_eq!(verified.manifest.scope, Scope::Slice);
    assert_eq!(verified.manifest.tenant, Some(w.tenants[0]));
    for line in tar_entry(&bundle, "records.jsonl").lines() {
        assert_eq!(
            parse_line(line).expect("line").1.tenant_id,
            Some(w.tenants[0])
        );
    }
    assert_eq!(
        verified.records as usize,
        records.len() + 1,
        "its own export is in its slice too"
    );
}

#[tokio::test]
async fn roles_without_audit_access_are_refused_and_each_refusal_is_recorded() {
    let h = harness().await;
    let (app, _) = signed(&h, LedgerSettings::default()).await;
    for role in [
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::ProviderOperator,
    ] {
        let who = context(role, None, (role == Role::ProviderOperator).then_some(1));
        assert!(matches!(
            app.audit_records(
                &who,
                &AuditQuery {
                    limit: 10,
                    ..AuditQuery::default()
                }
            )
            .await,
            Err(AppError::Forbidden(_))
        ));
        let mut sink = Vec::new();
        assert!(matches!(
            app.audit_export(&who, &ExportRange::default(), &mut sink)
                .await,
            Err(AppError::Forbidden(_))
        ));
        assert!(sink.is_empty());
        assert!(matches!(
            app.audit_anomalies(&who, 0, START_NS).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.audit_verify_online(&who).await,
            Err(AppError::Forbidden(_))
        ));
    }
    // A tenant administrator may read its slice but not verify the whole log.
    let tenant = context(Role::TenantAdmin, Some(1), None);
    assert!(matches!(
        app.audit_verify_online(&tenant).await,
        Err(AppError::Forbidden(_))
    ));
    let denials = app
        .audit_records(
            &auditor(),
            &AuditQuery {
                outcome: Some(AuditOutcome::Denied),
                limit: 100,
                ..AuditQuery::default()
            },
        )
        .await
        .expect("auditor reads");
    for action in [
        "audit.read",
        "audit.export",
        "audit.anomalies",
        "audit.verify",
    ] {
        let count = denials.iter().filter(|r| r.record.action == action).count();
        assert!(count >= 3, "{action}: {count} denials recorded");
    }
}

#[tokio::test]
async fn checkpoints_come_due_by_count_or_by_time() {
    let h = harness().await;
    let settings = LedgerSettings {
        checkpoint_records: 5,
        checkpoint_interval_ns: 60_000_000_000,
        ..LedgerSettings::default()
    };
    let (app, _) = signed(&h, settings).await;
    let first = app
        .checkpoint(false)
        .await
        .expect("first")
        .expect("no checkpoint yet: due");
    assert!(
        app.checkpoint(false).await.expect("again").is_none(),
        "nothing new"
    );
    let record = |i: i64| {
        let mut record =
            yunjian_store::NewAuditRecord::new(START_NS + i, "test.event", AuditOutcome::Succeeded);
        record.object_id = Some(i);
        record
    };
    app.append_audit_batch(&[record(1), record(2)])
        .await
        .expect("append");
    assert!(
        app.checkpoint(false).await.expect("not due").is_none(),
        "2 records, 0 s"
    );
    h.clock.advance_ns(61_000_000_000);
    let by_time = app
        .checkpoint(false)
        .await
        .expect("due by time")
        .expect("signed");
    assert_eq!(by_time.size, first.size + 2);
    app.append_audit_batch(&(10..15).map(record).collect::<Vec<_>>())
        .await
        .expect("append");
    let by_count = app
        .checkpoint(false)
        .await
        .expect("due by count")
        .expect("signed");
    assert_eq!(by_count.size, by_time.size + 5);
    let key = yunjian_gm::NoteVerifierKey::parse(&app.audit_public_key().await.expect("key"))
        .expect("parses");
    let text = yunjian_gm::open_note(&key, &by_count.note).expect("signature verifies");
    assert!(
        text.starts_with("test.invalid/audit/sm3\n"),
        "the stored origin: {text}"
    );
}

#[tokio::test]
async fn archives_prune_only_after_the_retention_period_and_proofs_survive() {
    let h = harness().await;
    let (app, key) = signed(&h, LedgerSettings::default()).await;
    let w = world(&h).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("archive.tar");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("file");
    h.clock.advance_ns(1_000);
    let archive = app
        .audit_archive(h.clock_now(), &mut file, "archive.tar")
        .await
        .expect("archive");
    assert_eq!(archive.from_seq, 0);
    assert!(archive.bundle_sm3.starts_with("sm3:"));
    verify_bundle(
        std::fs::File::open(&path).expect("open"),
        Some(&key),
        None,
        &|_| {},
    )
    .expect("the archive verifies");
    // Younger than six months: refused, nothing pruned.
    let refused = app
        .audit_prune(archive.id)
        .await
        .expect_err("inside retention");
    assert!(
        matches!(&refused, AppError::Invalid(errors) if errors[0].code == "inside_retention"),
        "{refused:?}"
    );
    h.clock.advance_ns(7 * MONTH_NS);
    let (_, pruned) = app
        .audit_prune(archive.id)
        .await
        .expect("prune after retention");
    assert_eq!(pruned, archive.to_seq - archive.from_seq);
    // Pruned records cannot be exported online, later ones can, and the tree still proves.
    let mut sink = Vec::new();
    assert!(app
        .audit_export(&auditor(), &ExportRange::default(), &mut sink)
        .await
        .is_err());
    let later = export(
        &app,
        &auditor(),
        ExportRange {
            from_seq: Some(archive.to_seq),
            ..ExportRange::default()
        },
    )
    .await;
    verify_bundle(&later[..], Some(&key), None, &|_| {})
        .expect("a range after the archive verifies");
    let report = app.audit_verify_online(&auditor()).await.expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.pruned_records, pruned);
    let _ = w;
}

#[tokio::test]
async fn the_online_verification_finds_a_record_altered_in_the_database() {
    let h = harness().await;
    let (app, _) = signed(&h, LedgerSettings::default()).await;
    world(&h).await;
    app.current_checkpoint().await.expect("checkpoint");
    let clean = app.audit_verify_online(&auditor()).await.expect("verify");
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert!(clean.records_checked > 5);
    h.store().tamper("UPDATE audit_records SET line = REPLACE(line, '\"outcome\":\"succeeded\"', '\"outcome\":\"failed\"') WHERE seq = 4").await;
    let report = app.audit_verify_online(&auditor()).await.expect("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("record 4 was altered")),
        "{:?}",
        report.problems
    );
    // Rewriting the leaf hash too breaks the signed checkpoints instead.
    h.store().tamper("UPDATE audit_records SET leaf_hash = '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 5").await;
    let report = app.audit_verify_online(&auditor()).await.expect("verify");
    assert!(
        report.problems.iter().any(|p| p.contains("does not match")),
        "{:?}",
        report.problems
    );
    let failures = app
        .audit_records(
            &auditor(),
            &AuditQuery {
                action: Some("audit.verify".into()),
                outcome: Some(AuditOutcome::Failed),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .expect("read");
    assert_eq!(
        failures.len(),
        2,
        "a failed verification is itself on record"
    );
}

#[tokio::test]
async fn the_anomaly_report_finds_a_burst_of_denials() {
    let h = harness().await;
    let (app, _) = signed(&h, LedgerSettings::default()).await;
    let w = world(&h).await;
    let mut prober = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    prober.source_address = Some("203.0.113.50".into());
    for _ in 0..12 {
        let _ = app.delete(&prober, Kind::Vpc, w.vpcs[1]).await;
        let _ = app
            .create(
                &prober,
                Kind::Vpc,
                &object(json!({"tenant_id": w.tenants[1], "name": "x"})),
            )
            .await;
    }
    let report = app
        .audit_anomalies(
            &auditor(),
            START_NS - 3_600_000_000_000,
            START_NS + 3_600_000_000_000,
        )
        .await
        .expect("report");
    let burst = report
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::DeniedBurst)
        .expect("burst found");
    assert_eq!(burst.address.as_deref(), Some("203.0.113.50"));
    assert!(burst.count >= 10);
}

/// A deployment may choose SHA-256 (so RFC 6962 tooling can check its tree): the same
/// records, checkpoints and bundles, with SHA-256 leaves that match an independent hash.
#[tokio::test]
async fn a_sha256_ledger_exports_bundles_that_verify() {
    use sha2::Digest;
    let test = yunjian_testkit::empty_store().await;
    test.store.migrate(1).await.expect("migrate");
    test.store
        .init_ledger(
            yunjian_store::LedgerHash::Sha256,
            "test.invalid/audit/sha256",
        )
        .await
        .expect("a SHA-256 ledger");
    let clock = std::sync::Arc::new(yunjian_app::FixedClock::new(START_NS));
    let settings = LedgerSettings {
        hash: yunjian_store::LedgerHash::Sha256,
        ..LedgerSettings::default()
    };
    let app = App::new(
        test.store.clone(),
        clock,
        yunjian_app::SessionSettings::default(),
    )
    .with_ledger(settings.clone(), None);
    app.initialize_administrators().await.expect("init");
    let sealing = SealingKey::generate();
    let key = app.create_signing_key(&sealing).await.expect("key");
    let signer = App::load_signer(app.store(), &sealing)
        .await
        .expect("unseal");
    let app = app.with_ledger(settings, signer);
    let bundle = export(&app, &auditor(), ExportRange::default()).await;
    let verified = verify_bundle(&bundle[..], Some(&key), None, &|_| {}).expect("verifies");
    assert_eq!(verified.manifest.hash, "sha256");
    let line = tar_entry(&bundle, "records.jsonl")
        .lines()
        .next()
        .expect("a record")
        .to_owned();
    let mut hasher = sha2::Sha256::new();
    hasher.update([0u8]);
    hasher.update(line.as_bytes());
    let leaf: [u8; 32] = hasher.finalize().into();
    let first = app
        .store()
        .audit_record(0)
        .await
        .expect("read")
        .expect("record");
    assert_eq!(first.leaf_hash, leaf, "leaf = SHA-256(0x00 || line)");
}

/// Once per Beijing-time day the previous day's anomaly report is written into the
/// ledger itself, once, whatever number of instances ask.
#[tokio::test]
async fn the_daily_anomaly_report_goes_into_the_ledger_once_a_day() {
    let h = harness().await;
    let (app, _) = signed(&h, LedgerSettings::default()).await;
    let w = world(&h).await;
    let mut prober = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    prober.source_address = Some("203.0.113.77".into());
    for _ in 0..12 {
        let _ = app.delete(&prober, Kind::Vpc, w.vpcs[1]).await;
    }
    // The next Beijing-time day: yesterday's report is due, once.
    h.clock.advance_ns(86_400 * 1_000_000_000);
    let seq = app
        .daily_anomaly_report()
        .await
        .expect("report")
        .expect("due");
    assert_eq!(
        app.daily_anomaly_report().await.expect("again"),
        None,
        "one per day"
    );
    let record = app.audit_record(&auditor(), seq).await.expect("on record");
    assert_eq!(record.record.action, "audit.anomaly_report");
    let detail = record.record.detail.expect("detail");
    assert_eq!(detail["counts"]["Burst of denied requests"], 1, "{detail}");
    let burst = detail["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .find(|anomaly| anomaly["kind"] == "denied_burst")
        .expect("the burst is in the report");
    assert_eq!(burst["address"], "203.0.113.77");
    assert_eq!(
        burst["count"], 12,
        "every probe of the other tenant's VPC is on record"
    );
    h.clock.advance_ns(86_400 * 1_000_000_000);
    assert!(app
        .daily_anomaly_report()
        .await
        .expect("next day")
        .is_some());
}

/// Data export wants a second factor proved in the last five minutes: without one, or
/// with an older one, it is refused (and the refusal recorded); roles without a second
/// factor (the third-party auditor) are not asked.
#[tokio::test]
async fn an_export_wants_a_fresh_second_factor() {
    let h = harness().await;
    let (app, _) = signed(&h, LedgerSettings::default()).await;
    let mut who = auditor();
    let mut sink = Vec::new();
    assert!(matches!(
        app.audit_export(&who, &ExportRange::default(), &mut sink)
            .await,
        Err(AppError::StepUpRequired)
    ));
    who.second_factor_at_ns = Some(app.now_ns() - yunjian_app::STEP_UP_WINDOW_NS - 1);
    assert!(matches!(
        app.audit_export(&who, &ExportRange::default(), &mut sink)
            .await,
        Err(AppError::StepUpRequired)
    ));
    assert!(sink.is_empty());
    who.second_factor_at_ns = Some(app.now_ns() - yunjian_app::STEP_UP_WINDOW_NS);
    app.audit_export(&who, &ExportRange::default(), &mut sink)
        .await
        .expect("within five minutes");
    assert!(!sink.is_empty());
    let third_party = context(Role::Auditor, None, None);
    app.audit_export(&third_party, &ExportRange::default(), &mut Vec::new())
        .await
        .expect("no second factor to prove");
    let refusals = app
        .store()
        .audit_records(&yunjian_store::AuditFilter {
            action: Some("audit.export".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("records");
    assert_eq!(
        refusals
            .iter()
            .filter(|r| r.record.outcome == yunjian_store::AuditOutcome::Denied)
            .count(),
        2
    );
}
