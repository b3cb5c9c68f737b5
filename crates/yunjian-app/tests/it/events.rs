//! The event centre through the app on the demo world in a real store: syslog from
//! real senders (`logger` over TCP, a UDP socket bound to another loopback address)
//! through the listener, queue and writer; addresses resolved to tenants and systems;
//! alerts grouped into graded incidents; each party sees only its own; the workflow,
//! re-grading and rule changes are authorized and audited, and refusals recorded.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use yunjian_app::{
    listen_syslog, AppError, EventSettingsInput, IngestConfig, LineFormat, RegradeInput, RuleSample,
};
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;
use yunjian_store::{AuditFilter, AuditOutcome, EventFilter, IncidentFilter, NewEventSource};

use super::compliance::{demo, Demo};

/// A VM's first address, its tenant and its VPC's zone.
struct Placed {
    address: String,
    tenant: i64,
    zone: i64,
    zone_kind: String,
}

async fn vms(demo: &Demo) -> Vec<Placed> {
    let store = demo.app.store();
    let vpcs = store.scan_all(Kind::Vpc).await.expect("vpcs");
    let zones = store.scan_all(Kind::Zone).await.expect("zones");
    let kind_of = |zone: i64| {
        zones
            .iter()
            .find(|candidate| candidate.id == zone)
            .and_then(|found| match found.values.get("zone_kind") {
                Some(Value::Text(kind)) => Some(kind.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let zone_of = |vpc: i64| {
        vpcs.iter()
            .find(|candidate| candidate.id == vpc)
            .and_then(|found| found.values.get("zone_id").and_then(Value::as_int))
    };
    store
        .scan_all(Kind::Vm)
        .await
        .expect("vms")
        .into_iter()
        .filter_map(|vm| {
            let Some(Value::TextList(addresses)) = vm.values.get("ip_addresses") else {
                return None;
            };
            let zone = zone_of(vm.values.get("vpc_id").and_then(Value::as_int)?)?;
            Some(Placed {
                address: addresses.first()?.clone(),
                tenant: vm.values.get("tenant_id").and_then(Value::as_int)?,
                zone,
                zone_kind: kind_of(zone),
            })
        })
        .collect()
}

fn logger_available() -> bool {
    Command::new("logger").arg("--version").output().is_ok()
}

fn logger_tcp(port: u16, message: &str) {
    let status = Command::new("logger")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--tcp",
        ])
        .args(["--rfc3164", "--tag", "USG6000", "--", message])
        .status()
        .expect("logger runs");
    assert!(status.success());
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn usg(action: &str, src: &str, dst: &str, port: u16) -> String {
    format!("%%01SEC/6/POLICY{}(l):-DevIP=10.0.0.1; vsys=public; protocol=6; source-ip={src}; source-port=52311; destination-ip={dst}; destination-port={port}; time=2026/11/24 10:00:00; source-zone=trust; destination-zone=trust; policy-name=east-west; action={action}",
        if action == "permit" { "PERMIT" } else { "DENY" })
}

#[tokio::test]
async fn syslog_from_real_senders_becomes_scoped_graded_incidents() {
    if !logger_available() {
        eprintln!("logger (bsdutils) is missing; scripts/test installs it");
        return;
    }
    let demo = demo().await;
    let app = &demo.app;
    let secadmin = demo.context("secadmin");
    let supervisor = demo.context("supervisor");
    let placed = vms(&demo).await;
    // Two tenants' VMs in one zone; the destination's tenant has a demo account.
    let with_account = |tenant: i64| {
        demo.accounts
            .iter()
            .find(|account| account.tenant.map(|id| id.0) == Some(tenant))
            .map(|account| account.username.clone())
    };
    let (a, b) = placed
        .iter()
        .filter(|b| with_account(b.tenant).is_some())
        .find_map(|b| {
            placed
                .iter()
                .find(|a| a.zone == b.zone && a.tenant != b.tenant)
                .map(|a| (a, b))
        })
        .expect("two tenants share a zone");
    let tenant_b = with_account(b.tenant);
    let outsider = demo
        .accounts
        .iter()
        .find(|account| {
            account
                .tenant
                .is_some_and(|tenant| tenant.0 != a.tenant && tenant.0 != b.tenant)
        })
        .map(|account| account.username.clone())
        .expect("a third tenant");

    // The firewall is registered in the VMs' zone; 127.0.0.2 is not registered.
    let source = app
        .add_event_source(
            &secadmin,
            &NewEventSource {
                name: "USG-东西向".into(),
                address: "127.0.0.1".into(),
                kind: "firewall".into(),
                provider_id: None,
                zone_id: Some(a.zone),
                tenant_id: None,
            },
        )
        .await
        .expect("source");
    // A tenant may not register sources; the refusal is recorded.
    let tenant_context = demo.context(tenant_b.as_deref().unwrap_or("tenant1"));
    let refused = app
        .add_event_source(
            &tenant_context,
            &NewEventSource {
                name: "mine".into(),
                address: "127.0.0.9".into(),
                kind: "host".into(),
                provider_id: None,
                zone_id: None,
                tenant_id: None,
            },
        )
        .await
        .expect_err("tenants do not register sources");
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
    assert!(demo.denials("event.configure").await >= 1);

    let config = IngestConfig::default();
    let (handle, _writer) = app.start_ingest(config.clone());
    let (bound, _listener) = listen_syslog(
        "127.0.0.1:0".parse().expect("addr"),
        handle.clone(),
        &config,
    )
    .await
    .expect("listen");

    // An allowed connection from one tenant's VM to another's database port.
    logger_tcp(bound.port(), &usg("permit", &a.address, &b.address, 3306));
    // A datagram from an unregistered sender.
    let udp = UdpSocket::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    udp.send_to(
        b"<38>Nov 24 10:00:00 stray-01 sshd[1]: Accepted publickey for ops from 10.0.0.5 port 1 ssh2",
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port()),
    )
    .expect("send");

    let store = app.store();
    wait_for("both lines stored", || async {
        store
            .events(yunjian_store::ResultScope::All, &EventFilter::default(), 10)
            .await
            .expect("events")
            .len()
            >= 2
    })
    .await;
    let events = app
        .search_events(
            &secadmin,
            &EventFilter {
                source_id: Some(source.id),
                ..EventFilter::default()
            },
            10,
        )
        .await
        .expect("search");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.detector.as_deref(), Some("huawei_usg.session"));
    assert_eq!(event.transport, "tcp");
    assert_eq!(
        event.tenant_id,
        Some(b.tenant),
        "the destination's tenant is affected"
    );
    assert_eq!(event.other_tenant_id, Some(a.tenant));
    assert_eq!(event.src_ip.as_deref(), Some(a.address.as_str()));
    assert!(event.dst_vm_id.is_some());
    // The unknown sender is counted, its line kept.
    let unknown = app.unknown_senders(&secadmin).await.expect("unknown");
    assert!(unknown
        .iter()
        .any(|sender| sender.address == "127.0.0.2" && sender.events == 1));
    let sources = app.event_sources(&secadmin).await.expect("sources");
    assert_eq!(
        sources
            .iter()
            .find(|found| found.id == source.id)
            .map(|found| found.events),
        Some(1)
    );

    // The cross-tenant rule raised an incident for tenant B, naming tenant A.
    let incidents = app
        .list_incidents(&supervisor, &IncidentFilter::default(), 50)
        .await
        .expect("incidents");
    let incident = incidents
        .iter()
        .find(|incident| incident.incident_class == "cross_tenant")
        .expect("a cross-tenant incident");
    assert_eq!(incident.concern.tenant_id, Some(b.tenant));
    assert_eq!(incident.concern.other_tenant_id, Some(a.tenant));
    assert_eq!(incident.gbt2023, "AB/ABACCESS");
    assert_eq!(incident.phase, "reported");
    assert_eq!(incident.assignee, "tenant");
    // Both tenants see it; a third tenant does not, and cannot act on it.
    if let Some(username) = &tenant_b {
        let own = app
            .incident_detail(&demo.context(username), incident.id)
            .await
            .expect("the affected tenant reads it");
        assert!(own.entries.iter().any(|entry| entry.kind == "opened"));
        assert_eq!(own.alerts.len(), 1);
        let moved = app
            .advance_incident(
                &demo.context(username),
                incident.id,
                "assessing",
                "核实为数据库同步误配置",
            )
            .await
            .expect("the tenant handles its incident");
        assert_eq!(moved.phase, "assessing");
        let skip = app
            .advance_incident(&demo.context(username), incident.id, "closed", "跳过")
            .await
            .expect_err("phases are not skipped");
        assert!(matches!(skip, AppError::Conflict { .. }));
        // Grading is not the tenant's.
        let regrade = app
            .regrade_incident(
                &demo.context(username),
                incident.id,
                &RegradeInput {
                    importance: "important".into(),
                    loss: "small".into(),
                    impact: "ordinary".into(),
                    reason: "自评".into(),
                },
            )
            .await
            .expect_err("tenants do not grade");
        assert!(matches!(regrade, AppError::Forbidden(_)));
    }
    let hidden = app
        .incident_detail(&demo.context(&outsider), incident.id)
        .await
        .expect_err("another tenant sees nothing");
    assert!(matches!(hidden, AppError::NotFound));
    let denied = app
        .annotate_incident(&demo.context(&outsider), incident.id, "note", "hi")
        .await
        .expect_err("nor acts on it");
    assert!(matches!(
        denied,
        AppError::Forbidden(_) | AppError::NotFound
    ));
    let outsider_events = app
        .search_events(&demo.context(&outsider), &EventFilter::default(), 100)
        .await
        .expect("search");
    assert!(outsider_events.iter().all(|event| event.id != events[0].id));

    // The management unit re-grades with a reason; the grade follows §5.2's table.
    let regraded = app
        .regrade_incident(
            &supervisor,
            incident.id,
            &RegradeInput {
                importance: "especially_important".into(),
                loss: "serious".into(),
                impact: "relatively_major".into(),
                reason: "涉及全市社保数据库".into(),
            },
        )
        .await
        .expect("regrade");
    assert_eq!(regraded.grade, "II");
    let records = store
        .audit_records(&AuditFilter {
            action: Some("incident.grade".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert!(records
        .iter()
        .any(|record| record.record.outcome == AuditOutcome::Succeeded
            && record.record.object_id == Some(incident.id)));
    // The situational overview counts what came in (SQLite's `$n` order trap included).
    let overview = app.event_overview(&supervisor, 1).await.expect("overview");
    assert_eq!(
        overview
            .series
            .iter()
            .map(|(_, events, _)| events)
            .sum::<i64>(),
        2
    );
    assert_eq!(
        overview
            .series
            .iter()
            .map(|(_, _, alerts)| alerts)
            .sum::<i64>(),
        1
    );
    assert!(overview
        .incidents_by_tenant
        .iter()
        .any(|tally| tally.key.as_deref() == Some(b.tenant.to_string().as_str())));
    // The handling report carries the grade, the reason and the timeline.
    let report = app
        .incident_report(&supervisor, incident.id)
        .await
        .expect("report");
    let facts: String = report
        .facts
        .iter()
        .map(|(label, value)| format!("{label}={value}\n"))
        .collect();
    assert!(
        facts.contains("II级") && facts.contains("涉及全市社保数据库"),
        "{facts}"
    );
    assert!(report.tables[0].rows.iter().any(|row| row[1] == "phase"));
}

#[tokio::test]
async fn rules_are_versioned_tested_against_samples_and_audited() {
    let demo = demo().await;
    let app = &demo.app;
    let secadmin = demo.context("secadmin");
    let rule = "title: 堡垒机外的root登录\nid: cq-root-login\nlogsource: {product: yunjian}\ndetection:\n    s:\n        detector: openssh.accepted\n        user: root\n    condition: s\nlevel: high\nincident_class: brute_force\n";
    let hits = app
        .test_detection_rule(
            &secadmin,
            rule,
            &[
                RuleSample {
                    at_seconds: 0,
                    format: LineFormat::Syslog,
                    line: "<38>Nov 24 10:00:00 web-01 sshd[1]: Accepted password for root from 10.8.1.5 port 2 ssh2".into(),
                },
                RuleSample {
                    at_seconds: 1,
                    format: LineFormat::Syslog,
                    line: "<38>Nov 24 10:00:01 web-01 sshd[1]: Accepted password for ops from 10.8.1.5 port 2 ssh2".into(),
                },
            ],
        )
        .await
        .expect("test");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].sample, hits[0].rule_id.as_str()),
        (0, "cq-root-login")
    );
    let saved = app
        .save_detection_rule(&secadmin, rule, true)
        .await
        .expect("save");
    assert_eq!(saved.version, 1);
    let again = app
        .save_detection_rule(
            &secadmin,
            &rule.replace("level: high", "level: critical"),
            true,
        )
        .await
        .expect("a new version");
    assert_eq!(again.version, 2);
    let listed = app.detection_rules(&secadmin).await.expect("list");
    let custom = listed
        .iter()
        .find(|listing| listing.id == "cq-root-login")
        .expect("listed");
    assert_eq!(
        (custom.version, custom.severity.as_str()),
        (Some(2), "critical")
    );
    assert!(listed
        .iter()
        .any(|listing| listing.shipped && listing.id == "yunjian-apt-chain"));
    // A shipped id, an unknown class, broken YAML: refused with the field named.
    for (bad, why) in [
        (
            rule.replace("cq-root-login", "yunjian-webshell"),
            "appears twice",
        ),
        (
            rule.replace("brute_force", "nothing_like_it"),
            "classification",
        ),
        ("title: [".to_owned(), ""),
    ] {
        match app.save_detection_rule(&secadmin, &bad, true).await {
            Err(AppError::Invalid(errors)) => {
                assert_eq!(errors[0].field, "yaml");
                assert!(errors[0].message.contains(why), "{}", errors[0].message);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // Tenants and the system administrator do not write rules.
    for username in ["tenant1", "sysadmin"] {
        let refused = app
            .save_detection_rule(&demo.context(username), rule, true)
            .await
            .expect_err("refused");
        assert!(
            matches!(refused, AppError::Forbidden(_)),
            "{username}: {refused:?}"
        );
    }
    let records = app
        .store()
        .audit_records(&AuditFilter {
            action: Some("event.rule.save".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(records.len(), 2);
    // Key tenants are the management unit's to name; a tenant sets only its webhook.
    let tenant = demo.context("tenant1");
    let tenant_id = tenant
        .principal
        .tenant
        .map(|tenant| tenant.0)
        .expect("tenant");
    let refused = app
        .set_event_settings(
            &tenant,
            tenant_id,
            &EventSettingsInput {
                key_tenant: Some(true),
                ..EventSettingsInput::default()
            },
        )
        .await
        .expect_err("not its call");
    assert!(matches!(refused, AppError::Forbidden(_)));
    app.set_event_settings(
        &tenant,
        tenant_id,
        &EventSettingsInput {
            webhook_url: Some("https://soc.example.gov.cn/hook".into()),
            webhook_secret: Some("a-long-enough-secret".into()),
            ..EventSettingsInput::default()
        },
    )
    .await
    .expect("its own webhook");
    app.set_event_settings(
        &demo.context("supervisor"),
        tenant_id,
        &EventSettingsInput {
            key_tenant: Some(true),
            ..EventSettingsInput::default()
        },
    )
    .await
    .expect("the management unit names key tenants");
    let settings = app.event_settings(&tenant).await.expect("settings");
    assert_eq!(settings.len(), 1);
    assert!(settings[0].key_tenant);
    assert_eq!(
        settings[0].webhook_secret.as_deref(),
        Some("(set)"),
        "never the secret"
    );
}

#[tokio::test]
async fn months_past_the_online_window_are_archived_with_their_sm3_in_the_ledger_and_restored() {
    let demo = demo().await;
    let app = &demo.app;
    let line = |n: usize| {
        yunjian_app::RawEvent {
        received_ns: yunjian_app::Clock::now_ns(&*demo.clock),
        sender: Some("127.0.0.1".parse().expect("ip")),
        transport: yunjian_app::Transport::Udp,
        format: LineFormat::Syslog,
        bytes: format!("<38>Nov 24 10:00:00 web-01 sshd[1]: Accepted publickey for ops{n} from 10.8.1.5 port 2 ssh2").into_bytes(),
        provider_id: None,
    }
    };
    let batch: Vec<_> = (0..25).map(line).collect();
    app.ingest_events(&batch).await.expect("ingest");
    let dir = tempfile::tempdir().expect("dir");
    // Within six months nothing moves, whatever is asked.
    assert!(app
        .archive_events(dir.path(), 0)
        .await
        .expect("archive")
        .is_empty());
    // Eight months later the month is archived: rows gone, file and ledger record there.
    const MONTH: i64 = 31 * 86_400 * 1_000_000_000;
    demo.clock.advance_ns(8 * MONTH);
    let archives = app.archive_events(dir.path(), 6).await.expect("archive");
    assert_eq!(archives.len(), 1);
    let archive = &archives[0];
    assert_eq!(archive.events, 25);
    let store = app.store();
    assert!(store
        .events(yunjian_store::ResultScope::All, &EventFilter::default(), 10)
        .await
        .expect("events")
        .is_empty());
    let records = store
        .audit_records(&AuditFilter {
            action: Some("event.archive".into()),
            limit: 5,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    let detail = records[0].record.detail.clone().expect("detail");
    assert_eq!(detail["sm3"], serde_json::json!(archive.sm3));
    assert_eq!(detail["events"], serde_json::json!(25));
    // Again: nothing more to do.
    assert!(app
        .archive_events(dir.path(), 6)
        .await
        .expect("again")
        .is_empty());
    // A file changed on disk is refused; the genuine one comes back whole.
    let original = std::fs::read(&archive.path).expect("read");
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    std::fs::write(&archive.path, &tampered).expect("tamper");
    let refused = app
        .restore_events(&archive.month)
        .await
        .expect_err("tampered");
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    std::fs::write(&archive.path, &original).expect("put back");
    let restored = app.restore_events(&archive.month).await.expect("restore");
    assert!(restored.restored_at_ns.is_some());
    let back = store
        .events(
            yunjian_store::ResultScope::All,
            &EventFilter::default(),
            100,
        )
        .await
        .expect("events");
    assert_eq!(back.len(), 25);
    assert!(back.iter().any(|event| event.message.contains("ops7")));
}

#[tokio::test]
async fn public_destinations_get_their_country_and_extranet_systems_calling_abroad_alert() {
    let Ok(path) = std::env::var("YUNJIAN_GEOIP") else {
        eprintln!("YUNJIAN_GEOIP is not set; scripts/test installs the country database");
        return;
    };
    let demo = demo().await;
    let app = &demo.app;
    let described = app
        .load_country_database(std::path::Path::new(&path))
        .expect("the country database");
    assert!(described.contains("country"), "{described}");
    let extranet = vms(&demo)
        .await
        .into_iter()
        // The demo's extranet VPCs hold unique private space (internet ones reuse it).
        .find(|vm| vm.zone_kind == "extranet")
        .expect("an extranet VM");
    let now = yunjian_app::Clock::now_ns(&*demo.clock);
    let line = |dst: &str| yunjian_app::RawEvent {
        received_ns: now,
        sender: None,
        transport: yunjian_app::Transport::Tcp,
        format: LineFormat::Syslog,
        bytes: usg("permit", &extranet.address, dst, 443).into_bytes(),
        provider_id: None,
    };
    let summary = app
        .ingest_events(&[line("8.8.8.8"), line("10.255.0.9")])
        .await
        .expect("ingest");
    assert_eq!(summary.events, 2);
    let events = app
        .store()
        .events(yunjian_store::ResultScope::All, &EventFilter::default(), 10)
        .await
        .expect("events");
    let abroad = events
        .iter()
        .find(|event| event.dst_ip.as_deref() == Some("8.8.8.8"))
        .expect("the public one");
    assert_eq!(abroad.dst_country.as_deref(), Some("US"));
    let private = events
        .iter()
        .find(|event| event.dst_ip.as_deref() == Some("10.255.0.9"))
        .expect("the private one");
    assert_eq!(
        private.dst_country, None,
        "private space is never looked up"
    );
    let incidents = app
        .list_incidents(&demo.context("supervisor"), &IncidentFilter::default(), 10)
        .await
        .expect("incidents");
    assert!(
        incidents
            .iter()
            .any(|incident| incident.incident_class == "cross_border"
                && incident.gbz2007 == "IDI/ILEI"),
        "{incidents:?}"
    );
}

#[tokio::test]
async fn syslog_over_tls_from_openssl_as_the_sender() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl is missing; scripts/test installs it");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", "/CN=localhost", "-days", "1"])
        .output()
        .expect("openssl req");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // A key file that is not a key is refused with the file named.
    let refused = yunjian_app::tls_config(&cert, &cert).expect_err("not a key");
    assert!(matches!(refused, AppError::Invalid(_)));
    let tls = yunjian_app::tls_config(&cert, &key).expect("tls");
    let demo = demo().await;
    let config = IngestConfig::default();
    let (handle, _writer) = demo.app.start_ingest(config.clone());
    let (bound, _listener) =
        yunjian_app::listen_syslog_tls("127.0.0.1:0".parse().expect("addr"), handle, &config, tls)
            .await
            .expect("listen");
    // RFC 5425 frames: octet-counted RFC 5424 messages.
    let messages = [
        "<38>1 2026-11-24T10:00:00+08:00 bastion-01 sshd 1 - - Accepted publickey for ops from 10.8.1.5 port 2 ssh2",
        "<38>1 2026-11-24T10:00:01+08:00 bastion-01 sshd 1 - - Failed password for root from 203.0.113.8 port 3 ssh2",
    ];
    let stream: String = messages
        .iter()
        .map(|message| format!("{} {message}", message.len()))
        .collect();
    let port = bound.port();
    let sent = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-quiet",
                "-no_ign_eof",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl s_client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stream.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let store = demo.app.store();
    wait_for("both TLS lines stored", || async {
        store
            .events(yunjian_store::ResultScope::All, &EventFilter::default(), 10)
            .await
            .expect("events")
            .len()
            == 2
    })
    .await;
    let events = store
        .events(yunjian_store::ResultScope::All, &EventFilter::default(), 10)
        .await
        .expect("events");
    assert!(events.iter().all(|event| event.transport == "tls"));
    assert!(events
        .iter()
        .any(|event| event.detector.as_deref() == Some("openssh.failed")
            && event.device.as_deref() == Some("bastion-01")));
}

#[tokio::test]
async fn rsyslog_forwards_to_the_listener_with_octet_counted_rfc5424() {
    let Ok(rsyslogd) = which("rsyslogd") else {
        eprintln!("rsyslogd is missing; scripts/test installs rsyslog");
        return;
    };
    if !logger_available() {
        eprintln!("logger is missing; scripts/test installs bsdutils");
        return;
    }
    let demo = demo().await;
    let config = IngestConfig::default();
    let (handle, _writer) = demo.app.start_ingest(config.clone());
    let (bound, _listener) = listen_syslog("127.0.0.1:0".parse().expect("addr"), handle, &config)
        .await
        .expect("listen");
    // rsyslog receives on its own UDP port and forwards everything to us over TCP.
    let inbound = UdpSocket::bind("127.0.0.1:0").expect("a free port");
    let inbound_port = inbound.local_addr().expect("addr").port();
    drop(inbound);
    let dir = tempfile::tempdir().expect("dir");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\n\
             module(load=\"imudp\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{inbound_port}\")\n\
             *.* action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
             TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            work = dir.path().display(),
            port = bound.port()
        ),
    )
    .expect("config");
    let mut daemon = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    let store = demo.app.store();
    // rsyslog takes a moment to listen: send until it has forwarded one.
    let mut forwarded = false;
    for _ in 0..100 {
        let status = Command::new("logger")
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &inbound_port.to_string(),
                "--udp",
                "--rfc3164",
            ])
            .args([
                "--tag",
                "sshd",
                "--",
                "Failed password for root from 203.0.113.77 port 4242 ssh2",
            ])
            .status()
            .expect("logger");
        assert!(status.success());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let events = store
            .events(
                yunjian_store::ResultScope::All,
                &EventFilter {
                    detector: Some("openssh.failed".into()),
                    ..EventFilter::default()
                },
                10,
            )
            .await
            .expect("events");
        if let Some(event) = events.first() {
            assert_eq!(event.transport, "tcp");
            assert_eq!(event.src_ip.as_deref(), Some("203.0.113.77"));
            assert!(event.raw.starts_with("<"), "{}", event.raw);
            assert!(event.source_time_ns.is_some(), "RFC 5424 carries the time");
            forwarded = true;
            break;
        }
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(forwarded, "rsyslog forwarded nothing within ten seconds");
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|path| path.exists())
        .ok_or(())
}
