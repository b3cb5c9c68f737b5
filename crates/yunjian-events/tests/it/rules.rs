//! The shipped rule set, each rule against realistic samples that go through the whole
//! chain (syslog parse → decoder → normalized event → Sigma view → engine) with an
//! explicit clock, plus a Sigma conformance test: the SigmaHQ corpus in
//! ../shared/fixtures/sigma (Detection Rule License 1.1, © SigmaHQ and the rules'
//! authors) compiles, and the semantics the rules rely on behave as the specification
//! says.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;
use yunjian_events::classify::Classifier;
use yunjian_events::decode::Decoders;
use yunjian_events::detect::{
    parse_rules, sigma_view, Detection, Detector, Enrichment, Placement, Severity, SHIPPED_RULES,
};
use yunjian_events::event::{self, Event};
use yunjian_events::syslog::{self, Context};

/// 2026-11-24T10:00:00+08:00 in seconds.
const T0: i64 = 1_795_485_600;

struct Chain {
    decoders: Decoders,
    classifier: Classifier,
    detector: Detector,
}

impl Chain {
    fn shipped() -> Chain {
        let classifier = Classifier::shipped().expect("test data");
        Chain {
            decoders: Decoders::shipped().expect("test data"),
            detector: Detector::new(&[SHIPPED_RULES], &classifier).expect("test data"),
            classifier,
        }
    }

    fn syslog(&self, line: &str, at: i64) -> Event {
        let received_ns = at * 1_000_000_000;
        let message = syslog::parse(line.as_bytes(), &Context::beijing(received_ns));
        let decoded = self.decoders.decode(&message);
        event::from_syslog(&message, &decoded, &self.classifier, received_ns, None)
    }

    fn eve(&self, value: serde_json::Value, at: i64) -> Event {
        event::from_eve(
            value.to_string().as_bytes(),
            &self.classifier,
            at * 1_000_000_000,
            None,
        )
    }

    fn run(&mut self, event: &Event, enrichment: &Enrichment, at: i64) -> Vec<Detection> {
        self.detector.evaluate(&sigma_view(event, enrichment), at)
    }

    fn ids(&mut self, event: &Event, enrichment: &Enrichment, at: i64) -> Vec<String> {
        self.run(event, enrichment, at)
            .into_iter()
            .map(|detection| detection.rule_id)
            .collect()
    }
}

fn tenant(tenant_id: i64, vpc_id: i64, zone_kind: &str) -> Placement {
    Placement {
        tenant_id,
        vpc_id,
        zone_id: if zone_kind == "internet" { 1 } else { 2 },
        zone_kind: Some(zone_kind.into()),
        vm_id: Some(vpc_id * 100),
        system_id: Some(tenant_id * 10),
    }
}

fn none() -> Enrichment {
    Enrichment::default()
}

/// Every alerting rule of the shipped set is exercised by a test below (building blocks
/// through the correlations that use them).
const TESTED: [&str; 13] = [
    "yunjian-ssh-brute-force",
    "yunjian-console-brute-force",
    "yunjian-port-scan",
    "yunjian-ids-scan",
    "yunjian-dos-flood",
    "yunjian-ids-dos",
    "yunjian-web-attack",
    "yunjian-webshell",
    "yunjian-malware",
    "yunjian-cross-border",
    "yunjian-cross-tenant",
    "yunjian-lateral-movement",
    "yunjian-apt-chain",
];

#[test]
fn every_alerting_rule_has_a_test_and_a_known_class() {
    let chain = Chain::shipped();
    let alerting: BTreeSet<String> = chain
        .detector
        .rules()
        .filter(|rule| rule.severity != Severity::Informational)
        .map(|rule| rule.id.clone())
        .collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|id| id.to_string()).collect();
    assert_eq!(
        alerting,
        tested
            .union(&["yunjian-large-outbound".to_string()].into())
            .cloned()
            .collect()
    );
    for rule in chain.detector.rules() {
        assert!(chain.classifier.knows(&rule.incident_class), "{}", rule.id);
    }
}

#[test]
fn ssh_brute_force_fires_on_the_tenth_failure_within_two_minutes_once() {
    let mut chain = Chain::shipped();
    let line = |n: i64| {
        format!("<38>Nov 24 10:00:{:02} web-01 sshd[2211]: Failed password for invalid user admin{n} from 203.0.113.7 port {} ssh2", n % 60, 51000 + n)
    };
    for n in 0..9 {
        let event = chain.syslog(&line(n), T0 + n * 10);
        assert!(chain.ids(&event, &none(), T0 + n * 10).is_empty(), "{n}");
    }
    let tenth = chain.syslog(&line(9), T0 + 90);
    let detections = chain.run(&tenth, &none(), T0 + 90);
    assert_eq!(detections.len(), 1);
    let detection = &detections[0];
    assert_eq!(detection.rule_id, "yunjian-ssh-brute-force");
    assert_eq!(detection.severity, Severity::High);
    assert_eq!(detection.classification.gbz2007.text(), "NAI/ONAI");
    assert_eq!(detection.classification.gbt2023.text(), "NA/NACRED");
    assert!(detection
        .group
        .contains(&("src_ip".to_string(), "203.0.113.7".to_string())));
    // Suppressed for the same attacker and host for five minutes.
    let eleventh = chain.syslog(&line(10), T0 + 95);
    assert!(chain.ids(&eleventh, &none(), T0 + 95).is_empty());
    // Failures spread wider than the window never fire.
    let mut slow = Chain::shipped();
    for n in 0..20 {
        let event = slow.syslog(&line(n), T0 + n * 30);
        assert!(slow.ids(&event, &none(), T0 + n * 30).is_empty());
    }
}

#[test]
fn console_brute_force_from_suricata_http_events() {
    let mut chain = Chain::shipped();
    let login = |status: u16| {
        json!({"timestamp": "2026-11-24T10:00:00.000000+0800", "event_type": "http",
            "src_ip": "198.51.100.23", "src_port": 40000, "dest_ip": "10.8.1.10", "dest_port": 443,
            "proto": "TCP", "http": {"hostname": "console.cq.gov.cn", "url": "/login",
            "http_method": "POST", "status": status}})
    };
    let ok = chain.eve(login(200), T0);
    for n in 0..30 {
        assert!(chain.ids(&ok, &none(), T0 + n).is_empty());
    }
    let mut fired = Vec::new();
    for n in 0..20 {
        let event = chain.eve(login(401), T0 + 40 + n);
        fired.extend(chain.ids(&event, &none(), T0 + 40 + n));
    }
    assert_eq!(fired, vec!["yunjian-console-brute-force".to_string()]);
}

fn usg_deny(src: &str, dst: &str, port: u16) -> String {
    format!("<188>Nov 24 2026 10:00:00 USG6000 %%01SEC/6/POLICYDENY(l):-DevIP=10.0.0.1; vsys=public; protocol=6; source-ip={src}; source-port=52311; destination-ip={dst}; destination-port={port}; time=2026/11/24 10:00:00; source-zone=untrust; destination-zone=trust; policy-name=default-deny; action=deny")
}

#[test]
fn port_scan_counts_distinct_ports_refused_by_the_firewall() {
    let mut chain = Chain::shipped();
    // The same port again and again is not a scan.
    for n in 0..40 {
        let event = chain.syslog(&usg_deny("203.0.113.9", "10.8.1.10", 22), T0 + n);
        assert!(chain.ids(&event, &none(), T0 + n).is_empty());
    }
    let mut fired = Vec::new();
    for port in 1000..1025u16 {
        let at = T0 + 41 + i64::from(port - 1000);
        let event = chain.syslog(&usg_deny("203.0.113.9", "10.8.1.10", port), at);
        fired.extend(chain.ids(&event, &none(), at));
    }
    assert_eq!(fired, vec!["yunjian-port-scan".to_string()]);
    // netfilter drops count too (kernel LOG prefix names the verdict).
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for port in 0..25u16 {
        let line = format!("<4>Nov 24 10:00:01 gw-02 kernel: [12345.678] DROP IN=eth0 OUT= MAC=00:00 SRC=198.51.100.4 DST=10.9.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID=0 PROTO=TCP SPT=40000 DPT={} WINDOW=1024 RES=0x00 SYN URGP=0", 2000 + port);
        let event = chain.syslog(&line, T0 + i64::from(port));
        fired.extend(chain.ids(&event, &none(), T0 + i64::from(port)));
    }
    assert_eq!(fired, vec!["yunjian-port-scan".to_string()]);
}

#[test]
fn ids_scan_and_dos_categories_alert_directly() {
    let mut chain = Chain::shipped();
    let alert = |category: &str, signature: &str| {
        json!({"timestamp": "2026-11-24T10:00:00.000000+0800", "event_type": "alert",
            "src_ip": "203.0.113.50", "src_port": 5555, "dest_ip": "10.8.1.20", "dest_port": 80,
            "proto": "TCP", "alert": {"action": "allowed", "signature_id": 2010937,
            "signature": signature, "category": category, "severity": 2}})
    };
    let scan = chain.eve(
        alert(
            "Detection of a Network Scan",
            "ET SCAN Nmap Scripting Engine User-Agent Detected",
        ),
        T0,
    );
    assert_eq!(chain.ids(&scan, &none(), T0), vec!["yunjian-ids-scan"]);
    let dos = chain.eve(
        alert("Attempted Denial of Service", "ET DOS Possible SYN Flood"),
        T0 + 1,
    );
    let detections = chain.run(&dos, &none(), T0 + 1);
    assert_eq!(detections[0].rule_id, "yunjian-ids-dos");
    assert_eq!(detections[0].classification.gbt2023.text(), "NA/NADOS");
}

#[test]
fn dos_flood_is_two_hundred_refusals_to_one_address_in_ten_seconds() {
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for n in 0..200i64 {
        let source = format!("198.51.100.{}", n % 250);
        let event = chain.syslog(&usg_deny(&source, "10.8.1.30", 80), T0 + n / 25);
        fired.extend(chain.ids(&event, &none(), T0 + n / 25));
    }
    assert_eq!(fired, vec!["yunjian-dos-flood".to_string()]);
}

#[test]
fn waf_and_ips_web_attacks_and_webshells() {
    let mut chain = Chain::shipped();
    let modsecurity = chain.syslog(r#"<131>Nov 24 10:00:00 waf-01 modsecurity: ModSecurity: Access denied with code 403 (phase 2). Matched "Operator `Ge' with parameter `5' against variable `TX:ANOMALY_SCORE' (Value: `5' ) [file "/etc/modsecurity/crs/REQUEST-949-BLOCKING-EVALUATION.conf"] [line "80"] [id "942100"] [msg "SQL Injection Attack Detected via libinjection"] [severity "CRITICAL"] [hostname "portal.cq.gov.cn"] [uri "/search"] [unique_id "ZxY1"]"#, T0);
    let detections = chain.run(&modsecurity, &none(), T0);
    assert_eq!(detections.len(), 1, "{detections:?}");
    assert_eq!(detections[0].rule_id, "yunjian-web-attack");
    assert_eq!(detections[0].classification.gbz2007.text(), "NAI/VAI");
    let ips = chain.syslog(r#"<188>Nov 24 2026 10:00:01 USG6000 %%01IPS/4/DETECT(l):An intrusion was detected. (SyslogId=1, VSys="public", Policy="ips", SrcIp=203.0.113.7, DstIp=10.8.1.10, SrcPort=43122, DstPort=80, Protocol=TCP, Application="HTTP", Profile="default", SignName="Apache Struts2 Remote Code Execution", SignId=1000235, Severity=High, Action=Block)"#, T0 + 1);
    assert_eq!(chain.ids(&ips, &none(), T0 + 1), vec!["yunjian-web-attack"]);
    // A webshell found by the antivirus is a webshell, not generic malware.
    let shell = chain.syslog("<131>Nov 24 10:00:02 web-01 clamd[811]: /var/www/upload/shell.php: Php.Webshell.Generic-1 FOUND", T0 + 2);
    let detections = chain.run(&shell, &none(), T0 + 2);
    assert_eq!(detections.len(), 1);
    assert_eq!(detections[0].rule_id, "yunjian-webshell");
    assert_eq!(detections[0].severity, Severity::Critical);
    assert_eq!(detections[0].classification.gbt2023.text(), "NA/NABACKIMPL");
    // A script posted into an upload directory.
    let upload = chain.eve(json!({"timestamp": "2026-11-24T10:00:03.000000+0800", "event_type": "http",
        "src_ip": "203.0.113.7", "src_port": 40001, "dest_ip": "10.8.1.10", "dest_port": 80, "proto": "TCP",
        "http": {"hostname": "portal.cq.gov.cn", "url": "/upload/files/cmd.jsp", "http_method": "POST", "status": 200}}), T0 + 3);
    assert_eq!(
        chain.ids(&upload, &none(), T0 + 3),
        vec!["yunjian-webshell"]
    );
    // A GET of the same file, or a POST of an image, is not an upload of a script.
    let get = chain.eve(
        json!({"event_type": "http", "src_ip": "203.0.113.7", "dest_ip": "10.8.1.10",
        "http": {"url": "/upload/files/cmd.jsp", "http_method": "GET", "status": 200}}),
        T0 + 4,
    );
    assert!(chain.ids(&get, &none(), T0 + 4).is_empty());
    let image = chain.eve(
        json!({"event_type": "http", "src_ip": "203.0.113.7", "dest_ip": "10.8.1.10",
        "http": {"url": "/upload/photo.png", "http_method": "POST", "status": 200}}),
        T0 + 5,
    );
    assert!(chain.ids(&image, &none(), T0 + 5).is_empty());
}

#[test]
fn malware_verdicts_from_the_antivirus_and_the_ids() {
    let mut chain = Chain::shipped();
    let dropper = chain.syslog("<131>Nov 24 10:00:00 file-01 clamd[811]: /srv/share/invoice.doc: Doc.Dropper.Agent-6345 FOUND", T0);
    let detections = chain.run(&dropper, &none(), T0);
    assert_eq!(detections.len(), 1);
    assert_eq!(detections[0].rule_id, "yunjian-malware");
    assert_eq!(detections[0].classification.gbz2007.text(), "MI/OMI");
    let clean = chain.syslog(
        "<134>Nov 24 10:00:01 file-01 clamd[811]: /srv/share/report.pdf: OK",
        T0 + 1,
    );
    assert!(chain.ids(&clean, &none(), T0 + 1).is_empty());
    let c2 = chain.eve(
        json!({"event_type": "alert", "src_ip": "10.8.1.10", "dest_ip": "185.220.101.1",
        "dest_port": 443, "proto": "TCP", "alert": {"signature": "ET MALWARE Cobalt Strike Beacon",
        "category": "Malware Command and Control Activity Detected", "severity": 1}}),
        T0 + 2,
    );
    assert_eq!(chain.ids(&c2, &none(), T0 + 2), vec!["yunjian-malware"]);
}

fn flow(src: &str, dst: &str, port: u16, bytes_out: u64) -> serde_json::Value {
    json!({"timestamp": "2026-11-24T10:00:00.000000+0800", "event_type": "flow",
        "src_ip": src, "src_port": 50000, "dest_ip": dst, "dest_port": port, "proto": "TCP",
        "flow": {"bytes_toserver": bytes_out, "bytes_toclient": 1200}})
}

#[test]
fn cross_border_connections_from_the_extranet_zone() {
    let mut chain = Chain::shipped();
    let abroad = Enrichment {
        src: Some(tenant(1, 11, "extranet")),
        dst_country: Some("US".into()),
        ..Enrichment::default()
    };
    let event = chain.eve(flow("10.9.1.10", "8.8.8.8", 443, 4000), T0);
    assert_eq!(chain.ids(&event, &abroad, T0), vec!["yunjian-cross-border"]);
    // Domestic destinations, internet-zone sources and refused connections do not.
    let domestic = Enrichment {
        dst_country: Some("CN".into()),
        ..abroad.clone()
    };
    assert!(chain.ids(&event, &domestic, T0 + 1).is_empty());
    let internet_zone = Enrichment {
        src: Some(tenant(1, 12, "internet")),
        ..abroad.clone()
    };
    assert!(chain.ids(&event, &internet_zone, T0 + 2).is_empty());
    let refused = chain.syslog(&usg_deny("10.9.1.10", "8.8.8.8", 443), T0 + 3);
    assert!(!chain
        .ids(&refused, &abroad, T0 + 3)
        .contains(&"yunjian-cross-border".to_string()));
}

#[test]
fn connections_between_tenants_alert_unless_refused() {
    let mut chain = Chain::shipped();
    let cross = Enrichment {
        src: Some(tenant(1, 11, "extranet")),
        dst: Some(tenant(2, 21, "extranet")),
        ..Enrichment::default()
    };
    let event = chain.eve(flow("10.9.1.10", "10.9.2.10", 3306, 800), T0);
    let detections = chain.run(&event, &cross, T0);
    assert_eq!(detections.len(), 1);
    assert_eq!(detections[0].rule_id, "yunjian-cross-tenant");
    assert_eq!(detections[0].classification.gbt2023.text(), "AB/ABACCESS");
    let same = Enrichment {
        dst: Some(tenant(1, 11, "extranet")),
        ..cross.clone()
    };
    assert!(chain.ids(&event, &same, T0 + 1).is_empty());
    let allowed = Enrichment {
        exchange_allowed: true,
        ..cross.clone()
    };
    assert!(chain.ids(&event, &allowed, T0 + 2).is_empty());
    let refused = chain.syslog(&usg_deny("10.9.1.10", "10.9.2.10", 3306), T0 + 3);
    assert!(chain.ids(&refused, &cross, T0 + 3).is_empty());
}

#[test]
fn lateral_movement_is_one_vm_reaching_eight_peers_admin_ports() {
    let mut chain = Chain::shipped();
    let inside = Enrichment {
        src: Some(tenant(1, 11, "extranet")),
        dst: Some(tenant(1, 11, "extranet")),
        ..Enrichment::default()
    };
    // Web traffic inside the VPC is not lateral movement.
    for n in 0..20 {
        let event = chain.eve(
            flow("10.9.1.10", &format!("10.9.1.{}", 20 + n), 443, 100),
            T0 + n,
        );
        assert!(chain.ids(&event, &inside, T0 + n).is_empty());
    }
    let mut fired = Vec::new();
    for n in 0..8u8 {
        let port = if n % 2 == 0 { 22 } else { 3389 };
        let at = T0 + 60 * i64::from(n);
        let event = chain.eve(
            flow("10.9.1.10", &format!("10.9.1.{}", 50 + n), port, 100),
            at,
        );
        fired.extend(chain.ids(&event, &inside, at));
    }
    assert_eq!(fired, vec!["yunjian-lateral-movement".to_string()]);
}

#[test]
fn apt_chain_needs_all_four_steps_in_order_on_one_system() {
    let victim = "10.8.1.10";
    let enrich_out = Enrichment {
        src: Some(tenant(1, 12, "internet")),
        dst_country: Some("SG".into()),
        ..Enrichment::default()
    };
    let steps = |chain: &Chain, order: &[usize]| -> Vec<(Event, Enrichment)> {
        let all = [
            (
                chain.syslog(&usg_deny("203.0.113.66", victim, 8080), T0),
                none(),
            ),
            (
                chain.syslog(&format!(r#"<188>Nov 24 2026 10:05:00 USG6000 %%01IPS/4/DETECT(l):An intrusion was detected. (SyslogId=1, VSys="public", Policy="ips", SrcIp=203.0.113.66, DstIp={victim}, SrcPort=43122, DstPort=8080, Protocol=TCP, Application="HTTP", Profile="default", SignName="Apache Struts2 Remote Code Execution", SignId=1000235, Severity=High, Action=Alert)"#), T0),
                none(),
            ),
            (
                chain.eve(json!({"event_type": "alert", "src_ip": victim, "dest_ip": "45.76.1.2",
                    "dest_port": 443, "proto": "TCP", "alert": {"signature": "ET MALWARE Reverse shell",
                    "category": "A Network Trojan was detected", "severity": 1}}), T0),
                none(),
            ),
            (
                chain.eve(flow(victim, "45.76.1.2", 443, 734_003_200), T0),
                enrich_out.clone(),
            ),
        ];
        order.iter().map(|index| all[*index].clone()).collect()
    };
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for (step, (event, enrichment)) in steps(&chain, &[0, 1, 2, 3]).into_iter().enumerate() {
        let at = T0 + 3600 * step as i64;
        fired.extend(chain.ids(&event, &enrichment, at));
    }
    assert!(
        fired.contains(&"yunjian-apt-chain".to_string()),
        "{fired:?}"
    );
    // The exfiltration alone is a large outbound transfer; the chain is critical.
    assert!(fired.contains(&"yunjian-large-outbound".to_string()));
    // Out of order (callback before the exploit) is no chain.
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for (step, (event, enrichment)) in steps(&chain, &[0, 2, 1, 3]).into_iter().enumerate() {
        let at = T0 + 3600 * step as i64;
        fired.extend(chain.ids(&event, &enrichment, at));
    }
    assert!(
        !fired.contains(&"yunjian-apt-chain".to_string()),
        "{fired:?}"
    );
    // Spread over more than a day is no chain either.
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for (step, (event, enrichment)) in steps(&chain, &[0, 1, 2, 3]).into_iter().enumerate() {
        let at = T0 + 10 * 3600 * step as i64;
        fired.extend(chain.ids(&event, &enrichment, at));
    }
    assert!(
        !fired.contains(&"yunjian-apt-chain".to_string()),
        "{fired:?}"
    );
}

#[test]
fn a_relayed_message_with_surrounding_whitespace_still_decodes() {
    // What rsyslog forwards of an RFC 3164 line: RFC 5424 whose MSG keeps the old
    // line's leading space, the frame ending in a newline.
    let mut chain = Chain::shipped();
    let mut fired = Vec::new();
    for n in 0..10 {
        let line = format!("<13>1 2026-11-24T15:53:27+00:00 vm sshd - - -  Failed password for root from 203.0.113.77 port {} ssh2\n", 4000 + n);
        let event = chain.syslog(&line, T0 + n);
        assert_eq!(event.detector.as_deref(), Some("openssh.failed"));
        fired.extend(chain.ids(&event, &none(), T0 + n));
    }
    assert_eq!(fired, vec!["yunjian-ssh-brute-force".to_string()]);
}

#[test]
fn rule_texts_are_checked_before_they_are_used() {
    let classifier = Classifier::shipped().expect("test data");
    let refused = |text: &str| {
        Detector::new(&[SHIPPED_RULES, text], &classifier)
            .expect_err("must be refused")
            .0
    };
    let rule = |id: &str, class: &str| {
        format!("title: t\nid: {id}\nlogsource: {{product: yunjian}}\ndetection:\n    s:\n        user: root\n    condition: s\nlevel: high\nincident_class: {class}\n")
    };
    assert!(refused(&rule("yunjian-webshell", "webshell")).contains("appears twice"));
    assert!(refused(&rule("x-1", "no_such_class")).contains("not in the classification table"));
    assert!(refused("title: t\nlogsource: {product: yunjian}\ndetection:\n    s:\n        user: root\n    condition: s\nincident_class: malware\n").contains("no id"));
    assert!(!refused("title: [unclosed\n").is_empty());
    assert!(!refused("title: t\nid: x-2\nlogsource: {product: yunjian}\ndetection:\n    s:\n        user: root\n    condition: s and nothing\nincident_class: malware\n").is_empty());
    assert!(!refused("title: c\nid: x-4\ncorrelation: {type: event_count, rules: [no-such-rule], group-by: [user], timespan: 1m, condition: {gte: 2}}\nincident_class: malware\n").is_empty());
    let (_, infos) =
        parse_rules(&[SHIPPED_RULES, &rule("x-3", "malware")], &classifier).expect("test data");
    assert!(infos
        .iter()
        .any(|info| info.id == "x-3" && info.kind == "detection"));
    assert!(infos
        .iter()
        .any(|info| info.id == "yunjian-apt-chain" && info.kind == "temporal_ordered"));
}

// --- Sigma conformance -------------------------------------------------------------

fn sigma_dir() -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/sigma/rules")
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("test data") {
        let path = entry.expect("test data").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yml") {
            out.push(path);
        }
    }
}

/// The SigmaHQ corpus (Linux, network devices, web servers: 300+ rules) parses and
/// compiles into one engine.
#[test]
fn sigmahq_corpus_compiles() {
    let mut files = Vec::new();
    yaml_files(&sigma_dir(), &mut files);
    assert!(files.len() > 300, "{}", files.len());
    let mut engine = rsigma_eval::Engine::new();
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("test data");
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(collection) if collection.errors.is_empty() => {
                if let Err(error) = engine.add_collection(&collection) {
                    failures.push(format!("{}: {error}", file.display()));
                }
            }
            Ok(collection) => failures.push(format!("{}: {:?}", file.display(), collection.errors)),
            Err(error) => failures.push(format!("{}: {error}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(engine.rule_count(), files.len());
}

fn fixture_engine(relative: &str) -> rsigma_eval::Engine {
    let text = std::fs::read_to_string(sigma_dir().join(relative)).expect("test data");
    let mut engine = rsigma_eval::Engine::new();
    engine
        .add_collection(&rsigma_parser::parse_sigma_yaml(&text).expect("test data"))
        .expect("test data");
    engine
}

fn matches(engine: &rsigma_eval::Engine, event: serde_json::Value) -> bool {
    !engine
        .evaluate(&rsigma_eval::event::JsonEvent::borrow(&event))
        .is_empty()
}

/// Real rules' semantics: keyword lists (case-insensitive, `*` wildcards) over the
/// event's values, field lists with `1 of selection_*`, and `not 1 of filter_*`.
#[test]
fn sigmahq_rules_match_what_they_describe() {
    let sshd = fixture_engine("linux/builtin/sshd/lnx_sshd_susp_ssh.yml");
    assert!(matches(
        &sshd,
        json!({"message": "fatal: Corrupted MAC on input. [preauth]"})
    ));
    assert!(matches(
        &sshd,
        json!({"message": "error: INCORRECT SIGNATURE"})
    ));
    assert!(!matches(
        &sshd,
        json!({"message": "Accepted publickey for ops"})
    ));
    let clamav = fixture_engine("linux/builtin/clamav/lnx_clamav_relevant_message.yml");
    assert!(matches(
        &clamav,
        json!({"message": "/var/www/upload/shell.php: Php.Webshell.Generic-1 FOUND"})
    ));
    assert!(matches(
        &clamav,
        json!({"message": "/tmp/x: Unix.Trojan.Mirai-7 FOUND"})
    ));
    assert!(!matches(
        &clamav,
        json!({"message": "/tmp/x: Doc.Dropper.Agent-6345 FOUND"})
    ));
    let mut firewall_files = Vec::new();
    yaml_files(&sigma_dir().join("network/firewall"), &mut firewall_files);
    let firewall = fixture_engine(
        firewall_files[0]
            .strip_prefix(sigma_dir())
            .expect("test data")
            .to_str()
            .expect("test data"),
    );
    assert!(matches(
        &firewall,
        json!({"dst_port": 3306, "action": "accept"})
    ));
    assert!(matches(
        &firewall,
        json!({"dst_port": 3306, "blocked": "false"})
    ));
    assert!(!matches(
        &firewall,
        json!({"dst_port": 3306, "action": "drop"})
    ));
    assert!(!matches(
        &firewall,
        json!({"dst_port": 443, "action": "accept"})
    ));
    let sqli = fixture_engine("web/webserver_generic/web_sql_injection_in_access_logs.yml");
    assert!(matches(
        &sqli,
        json!({"cs-method": "GET", "cs-uri-query": "id=1 UNION SELECT password FROM users", "sc-status": 200})
    ));
    assert!(!matches(
        &sqli,
        json!({"cs-method": "GET", "cs-uri-query": "id=1 UNION SELECT password", "sc-status": 404})
    ));
    assert!(!matches(
        &sqli,
        json!({"cs-method": "GET", "cs-uri-query": "id=1", "sc-status": 200})
    ));
}

/// The specification's modifiers and correlation types the shipped rules use, each with
/// a case that must match and one that must not; correlations with explicit clocks.
#[test]
fn sigma_modifiers_and_correlations_follow_the_specification() {
    let rule = r#"
title: modifiers
id: m-1
logsource: {product: test}
detection:
    a:
        url|startswith: /admin
        agent|re: '^curl/\d+'
        src|cidr: 10.0.0.0/8
    b:
        tags|contains|all: [x, y]
    c:
        size|gte: 100
        missing|exists: false
    condition: a or b or c
"#;
    let mut engine = rsigma_eval::Engine::new();
    engine
        .add_collection(&rsigma_parser::parse_sigma_yaml(rule).expect("test data"))
        .expect("test data");
    assert!(matches(
        &engine,
        json!({"url": "/ADMIN/x", "agent": "curl/8", "src": "10.1.2.3"})
    ));
    assert!(!matches(
        &engine,
        json!({"url": "/admin", "agent": "curl/8", "src": "11.1.2.3"})
    ));
    assert!(!matches(
        &engine,
        json!({"url": "/admin", "agent": "xcurl/8", "src": "10.1.2.3"})
    ));
    assert!(matches(&engine, json!({"tags": "y and x"})));
    assert!(!matches(&engine, json!({"tags": "just x"})));
    assert!(matches(&engine, json!({"size": 150})));
    assert!(matches(&engine, json!({"size": "150"})));
    assert!(!matches(&engine, json!({"size": 150, "missing": 1})));
    assert!(!matches(&engine, json!({"size": 99})));

    let correlations = r#"
title: a
id: a
logsource: {product: test}
detection: {s: {kind: a}, condition: s}
---
title: b
id: b
logsource: {product: test}
detection: {s: {kind: b}, condition: s}
---
title: temporal
id: t
correlation: {type: temporal, rules: [a, b], group-by: [host], timespan: 60s}
---
title: ordered
id: o
correlation: {type: temporal_ordered, rules: [a, b], group-by: [host], timespan: 60s}
---
title: distinct users
id: v
correlation: {type: value_count, rules: [a], group-by: [host], timespan: 60s, condition: {field: user, gte: 3}}
"#;
    let fire = |sequence: &[(&str, &str, &str, i64)]| -> Vec<String> {
        let mut engine = rsigma_eval::CorrelationEngine::new(rsigma_eval::CorrelationConfig {
            timestamp_fields: Vec::new(),
            ..rsigma_eval::CorrelationConfig::default()
        });
        let mut collection = rsigma_parser::parse_sigma_yaml(correlations).expect("test data");
        yunjian_events::detect::conform(&mut collection);
        engine.add_collection(&collection).expect("test data");
        let mut fired = Vec::new();
        for (kind, host, user, at) in sequence {
            let event = json!({"kind": kind, "host": host, "user": user});
            for result in
                engine.process_event_at(&rsigma_eval::event::JsonEvent::borrow(&event), *at)
            {
                if result.is_correlation() {
                    fired.push(result.header.rule_id.clone().expect("test data"));
                }
            }
        }
        fired
    };
    assert_eq!(
        fire(&[("a", "h", "u", 0), ("b", "h", "u", 10)]),
        vec!["t", "o"]
    );
    assert_eq!(fire(&[("b", "h", "u", 0), ("a", "h", "u", 10)]), vec!["t"]);
    // One of the two rules alone is no temporal correlation (the specification: all).
    assert!(fire(&[("a", "h", "u", 0), ("a", "h", "u", 5)]).is_empty());
    assert!(fire(&[("a", "h", "u", 0), ("b", "h", "u", 61)]).is_empty());
    assert!(fire(&[("a", "h1", "u", 0), ("b", "h2", "u", 1)]).is_empty());
    assert_eq!(
        fire(&[
            ("a", "h", "u1", 0),
            ("a", "h", "u1", 1),
            ("a", "h", "u2", 2),
            ("a", "h", "u3", 3)
        ]),
        vec!["v"]
    );
    assert!(fire(&[
        ("a", "h", "u1", 0),
        ("a", "h", "u2", 1),
        ("a", "h", "u3", 70)
    ])
    .is_empty());
}
