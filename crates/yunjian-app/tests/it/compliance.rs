//! The compliance engine through the app, on the demo world in a real store: a run is
//! stored with its audit record; each unit reads only its own results; evidence needs a
//! second person; waivers hold until they expire; a parameter looser than the guide's
//! floor fails; refusals are recorded.

use std::sync::Arc;

use yunjian_app::{
    App, AppError, Context, CreatedAccount, EvidenceInput, FixedClock, SessionSettings, WaiverInput,
};
use yunjian_compliance::Scope;
use yunjian_core::demo::{generate, Scale};
use yunjian_core::role::Principal;
use yunjian_store::{AuditFilter, AuditOutcome, ResultFilter};
use yunjian_testkit::{fresh_store, TestStore};

use super::START_NS;

const DAY: i64 = 86_400 * 1_000_000_000;

pub(super) struct Demo {
    _store: TestStore,
    pub(super) app: App,
    pub(super) clock: Arc<FixedClock>,
    pub(super) accounts: Vec<CreatedAccount>,
}

impl Demo {
    pub(super) fn context(&self, username: &str) -> Context {
        let account = self
            .accounts
            .iter()
            .find(|account| account.username == username)
            .unwrap_or_else(|| panic!("no demo account {username}"));
        let mut context = Context::new(
            Principal {
                account_id: account.id,
                username: account.username.clone(),
                role: account.role,
                tenant: account.tenant,
                provider: account.provider,
                second_factor: true,
            },
            "req-compliance",
            Some("127.0.0.1"),
        );
        context.second_factor_at_ns = Some(yunjian_app::Clock::now_ns(&*self.clock));
        context
    }

    pub(super) async fn denials(&self, action: &str) -> usize {
        self.app
            .store()
            .audit_records(&AuditFilter {
                action: Some(action.into()),
                outcome: Some(AuditOutcome::Denied),
                limit: 100,
                ..AuditFilter::default()
            })
            .await
            .expect("audit")
            .len()
    }
}

pub(super) async fn demo() -> Demo {
    let store = fresh_store().await;
    let clock = Arc::new(FixedClock::new(START_NS));
    let app = App::new(
        store.store.clone(),
        clock.clone(),
        SessionSettings::default(),
    )
    .with_sealing(yunjian_gm::SealingKey::generate());
    let accounts = app
        .load_demo(&generate(Scale::Small, 7))
        .await
        .expect("the demo loads");
    Demo {
        _store: store,
        app,
        clock,
        accounts,
    }
}

fn status_of(
    rows: &[yunjian_store::ComplianceResultRow],
    clause: &str,
    kind: &str,
    id: i64,
) -> String {
    rows.iter()
        .find(|row| row.clause_id == clause && row.scope_kind == kind && row.scope_id == id)
        .map(|row| row.status.clone())
        .unwrap_or_else(|| panic!("no {clause} for {kind}:{id}"))
}

#[tokio::test]
async fn a_run_is_stored_audited_and_read_in_each_units_scope() {
    let demo = demo().await;
    let sysadmin = demo.context("sysadmin");
    let summary = demo.app.run_compliance(&sysadmin).await.expect("run");
    let catalog = demo.app.catalog().expect("catalog");
    let platform: i64 = summary.platform.values().sum();
    assert_eq!(platform as usize, catalog.clauses.len());
    assert!(summary.run.resources > 5_000);
    assert_eq!(summary.run.trigger, "manual");

    // The run's record names it and its counts.
    let records = demo
        .app
        .store()
        .audit_records(&AuditFilter {
            action: Some("compliance.run".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].record.object_id, Some(summary.run.id));
    assert!(records[0].record.detail.as_ref().expect("detail")["platform"].is_object());

    // The whole view: the single-carrier provider fails 7.2.2.2.
    let all = demo
        .app
        .compliance_results(
            &sysadmin,
            summary.run.id,
            &ResultFilter::default(),
            100_000,
            0,
        )
        .await
        .expect("results");
    assert!(all.iter().any(|row| row.clause_id == "7.2.2.2"
        && row.scope_kind == "provider"
        && row.status == "FAIL"
        && row.must_act == "provider"));

    // A tenant administrator reads its tenant's rows and its systems', nothing else.
    let tenant = demo.context("tenant1");
    let own = tenant.principal.tenant.expect("tenant").0;
    let rows = demo
        .app
        .compliance_results(
            &tenant,
            summary.run.id,
            &ResultFilter::default(),
            100_000,
            0,
        )
        .await
        .expect("tenant results");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|row| row.tenant_id == Some(own)));
    assert!(rows.iter().any(|row| row.scope_kind == "tenant"));
    // Asking for another tenant's rows gives nothing; its trend is "not found".
    let other = all
        .iter()
        .find(|row| row.scope_kind == "tenant" && row.scope_id != own)
        .expect("another tenant")
        .scope_id;
    let filter = ResultFilter {
        scope_kind: Some("tenant".into()),
        scope_id: Some(other),
        ..ResultFilter::default()
    };
    assert!(demo
        .app
        .compliance_results(&tenant, summary.run.id, &filter, 100, 0)
        .await
        .expect("empty")
        .is_empty());
    assert!(matches!(
        demo.app
            .compliance_trend(&tenant, Scope::Tenant(other), 10)
            .await,
        Err(AppError::NotFound)
    ));

    // A provider reads its own provider rows only.
    let operator = demo.context("provider1");
    let provider = operator.principal.provider.expect("provider").0;
    let rows = demo
        .app
        .compliance_results(
            &operator,
            summary.run.id,
            &ResultFilter::default(),
            100_000,
            0,
        )
        .await
        .expect("provider results");
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|row| row.provider_id == Some(provider) && row.tenant_id.is_none()));

    // Auditors read but never run; the refusal is recorded.
    let auditor = demo.context("auditor");
    assert!(demo.app.compliance_runs(&auditor, 10).await.is_ok());
    assert!(matches!(
        demo.app.run_compliance(&auditor).await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(demo.denials("compliance.run").await, 1);
    // A tenant cannot start a run either.
    assert!(matches!(
        demo.app.run_compliance(&tenant).await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test]
async fn evidence_attests_only_after_a_second_person_approves_it() {
    let demo = demo().await;
    let supervisor = demo.context("supervisor");
    let secadmin = demo.context("secadmin");
    let now = yunjian_app::Clock::now_ns(&*demo.clock);
    // 8.2.3 is the management unit's (emergency plans): no control, so MANUAL.
    let evidence = EvidenceInput {
        clause_id: "8.2.3".into(),
        scope: Scope::Platform,
        file_name: "应急预案-2026.pdf".into(),
        media_type: "application/pdf".into(),
        content: b"%PDF-1.7 emergency plan".to_vec(),
        observed_on: "2026-09-01".into(),
        note: "年度应急预案".into(),
        valid_until_ns: now + 365 * DAY,
    };
    let submitted = demo
        .app
        .submit_evidence(&supervisor, evidence.clone())
        .await
        .expect("submit");
    assert_eq!(submitted.state, "submitted");
    assert_eq!(
        submitted.sm3,
        yunjian_gm::Sm3Digest::of(b"%PDF-1.7 emergency plan").to_hex()
    );
    // Not by the one who submitted it.
    assert!(matches!(
        demo.app
            .decide_evidence(&supervisor, submitted.id, true, "ok")
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(demo.denials("compliance.evidence.decide").await, 1);
    let run = demo.app.run_compliance(&secadmin).await.expect("run");
    let rows = demo
        .app
        .compliance_results(&secadmin, run.run.id, &ResultFilter::default(), 100_000, 0)
        .await
        .expect("rows");
    assert_eq!(status_of(&rows, "8.2.3", "platform", 0), "MANUAL");
    // A second person approves: ATTESTED from the next run on.
    let approved = demo
        .app
        .decide_evidence(&secadmin, submitted.id, true, "内容完整")
        .await
        .expect("approve");
    assert_eq!(approved.state, "approved");
    let run = demo.app.run_compliance(&secadmin).await.expect("run");
    let rows = demo
        .app
        .compliance_results(&secadmin, run.run.id, &ResultFilter::default(), 100_000, 0)
        .await
        .expect("rows");
    assert_eq!(status_of(&rows, "8.2.3", "platform", 0), "ATTESTED");
    // The file comes back as it went in.
    let (_, file) = demo
        .app
        .evidence_file(&secadmin, submitted.id)
        .await
        .expect("file");
    assert_eq!(file, b"%PDF-1.7 emergency plan");
    // A decided piece of evidence is not decided again.
    assert!(matches!(
        demo.app
            .decide_evidence(&secadmin, submitted.id, false, "")
            .await,
        Err(AppError::Conflict { .. })
    ));

    // A tenant attaches evidence for its own tenant only.
    let tenant = demo.context("tenant1");
    let own = tenant.principal.tenant.expect("tenant").0;
    let mut mine = evidence.clone();
    mine.clause_id = "8.1.1".into();
    mine.scope = Scope::Tenant(own);
    demo.app
        .submit_evidence(&tenant, mine.clone())
        .await
        .expect("own tenant");
    let other = demo.context("tenant2").principal.tenant.expect("tenant").0;
    mine.scope = Scope::Tenant(other);
    assert!(matches!(
        demo.app.submit_evidence(&tenant, mine.clone()).await,
        Err(AppError::Forbidden(_))
    ));
    // And it cannot see the other's evidence or the platform's.
    assert!(matches!(
        demo.app.evidence_file(&tenant, submitted.id).await,
        Err(AppError::NotFound)
    ));
    // Bad input is refused whole.
    mine.scope = Scope::Tenant(own);
    mine.clause_id = "9.9.9".into();
    assert!(matches!(
        demo.app.submit_evidence(&tenant, mine.clone()).await,
        Err(AppError::Invalid(_))
    ));
    mine.clause_id = "8.1.1".into();
    mine.file_name = "../etc/passwd".into();
    assert!(matches!(
        demo.app.submit_evidence(&tenant, mine).await,
        Err(AppError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_waiver_holds_until_it_expires_and_only_the_management_unit_grants_it() {
    let demo = demo().await;
    let sysadmin = demo.context("sysadmin");
    let run = demo.app.run_compliance(&sysadmin).await.expect("run");
    let rows = demo
        .app
        .compliance_results(&sysadmin, run.run.id, &ResultFilter::default(), 100_000, 0)
        .await
        .expect("rows");
    let failing = rows
        .iter()
        .find(|row| {
            row.clause_id == "7.2.2.2" && row.scope_kind == "provider" && row.status == "FAIL"
        })
        .expect("the single-carrier provider");
    let operator_name = demo
        .accounts
        .iter()
        .find(|account| account.provider.map(|p| p.0) == Some(failing.scope_id))
        .expect("its operator")
        .username
        .clone();
    let operator = demo.context(&operator_name);
    let now = yunjian_app::Clock::now_ns(&*demo.clock);
    let waiver = demo
        .app
        .request_waiver(
            &operator,
            WaiverInput {
                clause_id: "7.2.2.2".into(),
                scope: Scope::Provider(failing.scope_id),
                justification: "第二家运营商线路已签约，2027年1月开通".into(),
                expires_at_ns: now + 30 * DAY,
            },
        )
        .await
        .expect("request");
    // The provider cannot approve its own request; nor can the security administrator.
    assert!(demo
        .app
        .decide_waiver(&operator, waiver.id, "approve", "")
        .await
        .is_err());
    let secadmin = demo.context("secadmin");
    assert!(matches!(
        demo.app
            .decide_waiver(&secadmin, waiver.id, "approve", "")
            .await,
        Err(AppError::Forbidden(_))
    ));
    let supervisor = demo.context("supervisor");
    demo.app
        .decide_waiver(&supervisor, waiver.id, "approve", "同意，限期整改")
        .await
        .expect("approve");
    let run = demo.app.run_compliance(&sysadmin).await.expect("run");
    let rows = demo
        .app
        .compliance_results(&sysadmin, run.run.id, &ResultFilter::default(), 100_000, 0)
        .await
        .expect("rows");
    assert_eq!(
        status_of(&rows, "7.2.2.2", "provider", failing.scope_id),
        "WAIVED"
    );
    // After the expiry it fails again, and the difference between runs shows it.
    demo.clock.advance_ns(31 * DAY);
    let later = demo.app.run_compliance(&sysadmin).await.expect("run");
    let rows = demo
        .app
        .compliance_results(
            &sysadmin,
            later.run.id,
            &ResultFilter::default(),
            100_000,
            0,
        )
        .await
        .expect("rows");
    assert_eq!(
        status_of(&rows, "7.2.2.2", "provider", failing.scope_id),
        "FAIL"
    );
    let changes = demo
        .app
        .compliance_diff(&sysadmin, run.run.id, later.run.id)
        .await
        .expect("diff");
    assert!(changes.iter().any(|change| change.clause_id == "7.2.2.2"
        && change.before.as_deref() == Some("WAIVED")
        && change.after.as_deref() == Some("FAIL")));
}

#[tokio::test]
async fn a_parameter_looser_than_the_floor_is_recorded_and_fails_the_run() {
    let demo = demo().await;
    let supervisor = demo.context("supervisor");
    // Not for a tenant or an auditor.
    assert!(matches!(
        demo.app
            .set_compliance_parameter(&demo.context("tenant1"), "carriers_min", 3.0)
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        demo.app
            .set_compliance_parameter(&supervisor, "no_such", 3.0)
            .await,
        Err(AppError::Invalid(_))
    ));
    demo.app
        .set_compliance_parameter(&supervisor, "carriers_min", 1.0)
        .await
        .expect("set");
    let records = demo
        .app
        .store()
        .audit_records(&AuditFilter {
            action: Some("compliance.parameter.set".into()),
            outcome: Some(AuditOutcome::Succeeded),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        records[0].record.detail.as_ref().expect("detail")["looser_than_floor"],
        true
    );
    let run = demo.app.run_compliance(&supervisor).await.expect("run");
    let rows = demo
        .app
        .compliance_results(
            &supervisor,
            run.run.id,
            &ResultFilter::default(),
            100_000,
            0,
        )
        .await
        .expect("rows");
    let provider_rows: Vec<_> = rows
        .iter()
        .filter(|row| row.clause_id == "7.2.2.2" && row.scope_kind == "provider")
        .collect();
    assert!(!provider_rows.is_empty());
    for row in provider_rows {
        assert_eq!(row.status, "FAIL");
        assert!(row.detail.contains("carriers_min"), "{}", row.detail);
    }
    assert!(
        run.run.parameters.contains("\"carriers_min\":1.0"),
        "{}",
        run.run.parameters
    );
}

#[tokio::test]
async fn reports_follow_the_readers_scope_and_packages_verify_offline() {
    use yunjian_app::{ReportFormat, ReportKind};
    let mut demo = demo().await;
    let signer: Arc<dyn yunjian_gm::NoteSigner> = Arc::new(
        yunjian_gm::SoftwareSm2Signer::generate("yunjian.test", "1234567812345678").expect("key"),
    );
    demo.app = demo
        .app
        .clone()
        .with_ledger(yunjian_app::LedgerSettings::default(), Some(signer.clone()));
    let sysadmin = demo.context("sysadmin");
    // No run yet: a clear conflict.
    assert!(matches!(
        demo.app
            .compliance_report(&sysadmin, ReportKind::Scorecard, None)
            .await,
        Err(AppError::Conflict { .. })
    ));
    demo.app.run_compliance(&sysadmin).await.expect("run");

    let tenant = demo.context("tenant1");
    let own = tenant.principal.tenant.expect("tenant").0;
    let (report, _) = demo
        .app
        .compliance_report(&tenant, ReportKind::Compliance(Scope::Tenant(own)), None)
        .await
        .expect("own report");
    assert!(report.title.contains("云租户"));
    assert!(
        report.tables[0].rows.len() > 100,
        "every clause of the tenant"
    );
    let csv = demo
        .app
        .render_report(&report, ReportFormat::Csv)
        .expect("csv");
    assert!(String::from_utf8_lossy(&csv).contains("7.2.2.2"));
    // Not another tenant's, not the platform's, not the scorecard.
    let other = demo.context("tenant2").principal.tenant.expect("tenant").0;
    for kind in [
        ReportKind::Compliance(Scope::Tenant(other)),
        ReportKind::Compliance(Scope::Platform),
        ReportKind::Scorecard,
    ] {
        assert!(
            matches!(
                demo.app.compliance_report(&tenant, kind, None).await,
                Err(AppError::Forbidden(_))
            ),
            "{kind:?}"
        );
    }

    // The provider's periodic report lists only tenants that consented (the demo's
    // first tenant administrator consented to the first provider).
    let operator = demo.context("provider1");
    let provider = operator.principal.provider.expect("provider").0;
    let (periodic, _) = demo
        .app
        .compliance_report(&operator, ReportKind::ProviderPeriodic(provider), None)
        .await
        .expect("periodic");
    let tenant_name = demo
        .app
        .store()
        .get(
            yunjian_core::schema::Kind::Tenant,
            own,
            yunjian_store::ReadScope::All,
        )
        .await
        .expect("get")
        .expect("tenant")
        .display_name();
    assert_eq!(
        periodic.tables[0].rows.len(),
        1,
        "{:?}",
        periodic.tables[0].rows
    );
    assert_eq!(periodic.tables[0].rows[0][0], tenant_name);
    // Another provider's periodic report is not this operator's to read.
    let other_provider = demo
        .context("provider2")
        .principal
        .provider
        .expect("provider")
        .0;
    assert!(matches!(
        demo.app
            .compliance_report(
                &operator,
                ReportKind::ProviderPeriodic(other_provider),
                None
            )
            .await,
        Err(AppError::Forbidden(_))
    ));

    // The scorecard ranks every provider.
    let supervisor = demo.context("supervisor");
    let (scorecard, _) = demo
        .app
        .compliance_report(&supervisor, ReportKind::Scorecard, None)
        .await
        .expect("scorecard");
    assert_eq!(scorecard.tables[0].rows.len(), 3);

    // An evidence package of the tenant's report verifies, and fails when altered.
    let package = demo
        .app
        .evidence_package(&tenant, ReportKind::Compliance(Scope::Tenant(own)), None)
        .await
        .expect("package");
    let verified = yunjian_bundle::verify_evidence_package(&package, Some(signer.verifier_key()))
        .expect("verifies");
    let paths: Vec<&str> = verified
        .manifest
        .files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    assert!(
        paths.contains(&format!("compliance-tenant-{own}.pdf").as_str()),
        "{paths:?}"
    );
    assert!(paths.contains(&"results.json"));
    let mut altered = package.clone();
    let at = altered
        .windows(7)
        .position(|window| window == b"7.2.2.2")
        .expect("a clause in the package");
    altered[at + 6] = b'3';
    assert!(
        yunjian_bundle::verify_evidence_package(&altered, Some(signer.verifier_key())).is_err()
    );
    // Reports are audited.
    let records = demo
        .app
        .store()
        .audit_records(&AuditFilter {
            action: Some("compliance.report".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert!(records
        .iter()
        .any(|record| record.record.outcome == AuditOutcome::Denied));
    assert!(records
        .iter()
        .any(|record| record.record.outcome == AuditOutcome::Succeeded
            && record.record.tenant_id == Some(own)));
}

#[tokio::test]
async fn custom_controls_are_validated_versioned_audited_and_run() {
    let demo = demo().await;
    let supervisor = demo.context("supervisor");
    let source = r#"package yunjian.custom

violations contains v if {
    some volume in input.volumes
    not volume.encrypted
    v := {"kind": "volume", "id": volume.id, "message": "unencrypted"}
}
"#;
    let strings = |items: &[&str]| {
        items
            .iter()
            .map(|item| item.to_string())
            .collect::<Vec<_>>()
    };
    // Not for a tenant.
    assert!(matches!(
        demo.app
            .upload_custom_control(
                &demo.context("tenant1"),
                "custom.all_encrypted",
                "全部加密",
                "all encrypted",
                &strings(&["7.5.9.3"]),
                &strings(&["volumes"]),
                source
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    // A syntax error is refused with its line.
    let broken = "package yunjian.custom\n\nviolations contains v if {\n  v := \n}\n";
    match demo
        .app
        .upload_custom_control(
            &supervisor,
            "custom.broken",
            "坏",
            "broken",
            &strings(&["7.5.9.3"]),
            &strings(&["volumes"]),
            broken,
        )
        .await
    {
        Err(AppError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "source");
            assert!(
                errors[0].message.starts_with("line "),
                "{}",
                errors[0].message
            );
        }
        other => panic!("{other:?}"),
    }
    let first = demo
        .app
        .upload_custom_control(
            &supervisor,
            "custom.all_encrypted",
            "全部加密",
            "all encrypted",
            &strings(&["8.1.1"]),
            &strings(&["volumes"]),
            source,
        )
        .await
        .expect("upload");
    assert_eq!(first.version, 1);
    let second = demo
        .app
        .upload_custom_control(
            &supervisor,
            "custom.all_encrypted",
            "全部云硬盘加密",
            "all volumes encrypted",
            &strings(&["8.1.1"]),
            &strings(&["volumes"]),
            source,
        )
        .await
        .expect("upload");
    assert_eq!(second.version, 2);
    assert_eq!(
        second.sm3,
        yunjian_gm::Sm3Digest::of(source.as_bytes()).to_hex()
    );
    let run = demo.app.run_compliance(&supervisor).await.expect("run");
    let rows = demo
        .app
        .compliance_results(
            &supervisor,
            run.run.id,
            &ResultFilter {
                clause_id: Some("8.1.1".into()),
                scope_kind: Some("tenant".into()),
                ..ResultFilter::default()
            },
            10_000,
            0,
        )
        .await
        .expect("rows");
    // The demo has unencrypted volumes: some tenant fails 8.1.1 through the custom control.
    assert!(rows
        .iter()
        .any(|row| row.status == "FAIL" && row.detail.contains("custom.all_encrypted")));
    // Retired, it no longer runs.
    assert_eq!(
        demo.app
            .retire_custom_control(&supervisor, "custom.all_encrypted")
            .await
            .expect("retire"),
        2
    );
    let run = demo.app.run_compliance(&supervisor).await.expect("run");
    let rows = demo
        .app
        .compliance_results(
            &supervisor,
            run.run.id,
            &ResultFilter {
                clause_id: Some("8.1.1".into()),
                ..ResultFilter::default()
            },
            10_000,
            0,
        )
        .await
        .expect("rows");
    assert!(rows
        .iter()
        .all(|row| !row.detail.contains("custom.all_encrypted")));
    let records = demo
        .app
        .store()
        .audit_records(&AuditFilter {
            action: Some("compliance.control.upload".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert!(
        records
            .iter()
            .filter(|record| record.record.outcome == AuditOutcome::Succeeded)
            .count()
            == 2
    );
}
