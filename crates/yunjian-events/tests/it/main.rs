//! Syslog as real senders produce it: `logger` (util-linux) over UDP and TCP, RFC 3164
//! and RFC 5424, LF and octet-counted framing; device variants; and properties: no input
//! makes parsing or framing panic, and no line is lost.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

mod rules;

use proptest::prelude::*;
use yunjian_events::framing::Framer;
use yunjian_events::syslog::{self, Context, Format};

/// 2026-11-24T10:00:00+08:00.
const RECEIVED_NS: i64 = 1_795_485_600_000_000_000;

fn context() -> Context {
    Context::beijing(RECEIVED_NS)
}

#[test]
fn rfc5424_with_structured_data_and_nil_values() {
    let line = br#"<165>1 2026-11-24T10:00:00.123+08:00 fw-01.cq.gov.cn sshd 4123 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][meta sequenceId="29" note="a \"quoted\] value"] BOMAn application event"#;
    let message = syslog::parse(line, &context());
    assert_eq!(message.format, Format::Rfc5424);
    assert_eq!((message.facility, message.severity), (Some(20), Some(5)));
    assert_eq!(message.hostname.as_deref(), Some("fw-01.cq.gov.cn"));
    assert_eq!(message.app_name.as_deref(), Some("sshd"));
    assert_eq!(message.proc_id.as_deref(), Some("4123"));
    assert_eq!(message.msg_id.as_deref(), Some("ID47"));
    assert_eq!(message.structured_data.len(), 2);
    assert_eq!(
        message.structured_data[0].params[2],
        ("eventID".into(), "1011".into())
    );
    assert_eq!(
        message.structured_data[1].params[1],
        ("note".into(), "a \"quoted] value".into())
    );
    assert_eq!(message.message, "BOMAn application event");
    assert_eq!(message.source_time_ns, Some(RECEIVED_NS + 123_000_000));
    let nil = syslog::parse(b"<13>1 - - - - - -", &context());
    assert_eq!(nil.format, Format::Rfc5424);
    assert_eq!(
        (
            nil.hostname.clone(),
            nil.source_time_ns,
            nil.message.as_str()
        ),
        (None, None, "")
    );
}

#[test]
fn rfc3164_variants_of_real_devices() {
    // Linux sshd through rsyslog, traditional format.
    let sshd = syslog::parse(
        b"<38>Nov 24 09:59:58 web-01 sshd[2211]: Failed password for invalid user admin from 203.0.113.7 port 51022 ssh2",
        &context(),
    );
    assert_eq!(sshd.format, Format::Rfc3164);
    assert_eq!(sshd.hostname.as_deref(), Some("web-01"));
    assert_eq!(
        (sshd.app_name.as_deref(), sshd.proc_id.as_deref()),
        (Some("sshd"), Some("2211"))
    );
    assert!(sshd.message.starts_with("Failed password"));
    assert_eq!(sshd.source_time_ns, Some(RECEIVED_NS - 2_000_000_000));
    // Space-padded day, no hostname, kernel tag (iptables LOG).
    let kernel = syslog::parse(
        b"<4>Nov  4 08:00:00 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.9 DST=10.1.1.5 PROTO=TCP SPT=4444 DPT=22",
        &context(),
    );
    assert_eq!(kernel.hostname, None);
    assert_eq!(kernel.app_name.as_deref(), Some("kernel"));
    assert!(kernel.message.contains("DPT=22"));
    // Huawei USG: a year in the timestamp, the module string instead of a tag.
    let usg = syslog::parse(
        b"<188>Nov 24 2026 02:00:00 USG6600 %%01SEC/4/SESSION(l):-DevIP=10.0.0.1; source-ip=10.8.1.10; destination-ip=8.8.8.8",
        &context(),
    );
    assert_eq!(usg.format, Format::Rfc3164);
    assert_eq!(usg.hostname.as_deref(), Some("USG6600"));
    assert_eq!(usg.timestamp.as_deref(), Some("Nov 24 2026 02:00:00"));
    assert_eq!(
        usg.source_time_ns,
        Some(RECEIVED_NS - 8 * 3_600_000_000_000)
    );
    assert!(usg.message.contains("destination-ip=8.8.8.8"));
    // rsyslog's forward format: an RFC 3339 timestamp in a 3164 line.
    let forwarded = syslog::parse(
        b"<86>2026-11-24T09:00:00+08:00 bastion-1 sudo: admin : TTY=pts/0 ; COMMAND=/bin/ls",
        &context(),
    );
    assert_eq!(forwarded.hostname.as_deref(), Some("bastion-1"));
    assert_eq!(forwarded.app_name.as_deref(), Some("sudo"));
    assert_eq!(
        forwarded.source_time_ns,
        Some(RECEIVED_NS - 3_600_000_000_000)
    );
    // A December line received on New Year's Day is last year's.
    let new_year = Context::beijing(RECEIVED_NS + 38 * 86_400_000_000_000);
    let december = syslog::parse(b"<13>Dec 31 23:59:59 h app: x", &new_year);
    let time = chrono::DateTime::from_timestamp_nanos(december.source_time_ns.expect("time"));
    assert_eq!(time.to_rfc3339(), "2026-12-31T15:59:59+00:00");
}

#[test]
fn what_cannot_be_parsed_is_kept_whole() {
    for line in [
        &b"no header at all"[..],
        b"<999>too big a priority",
        b"<13>not a timestamp here",
        b"<13>1 2026-13-99T99:99:99Z host app - - - bad time",
        b"\xff\xfe binary \x00 junk",
        b"",
    ] {
        let message = syslog::parse(line, &context());
        assert!(!message.raw.is_empty() || line.is_empty());
        assert!(
            message.format == Format::Unparsed
                || !message.message.is_empty()
                || line.ends_with(b"-"),
            "{message:?}"
        );
        if message.format == Format::Unparsed {
            assert!(
                message.raw.contains(message.message.as_str()),
                "{message:?}"
            );
        }
    }
    let bad_priority = syslog::parse(b"<999>too big a priority", &context());
    assert_eq!(bad_priority.message, "<999>too big a priority");
    let bad_time = syslog::parse(
        b"<13>1 2026-13-99T99:99:99Z host app - - - bad time",
        &context(),
    );
    assert_eq!(bad_time.severity, Some(5), "the priority is still read");
}

#[test]
fn framing_mixes_octet_counting_and_newlines_across_any_split() {
    // An octet-counted message, a newline-terminated one, another counted one.
    let (first, last) = ("<13>1 - host app - - - hi", "<14>1 - - - - - -");
    let text = format!(
        "{} {first}<13>Nov 24 10:00:00 h a: two\r\n\n{} {last}",
        first.len(),
        last.len()
    );
    let stream = text.as_bytes();
    // Every way of cutting the stream in two gives the same frames.
    for cut in 0..=stream.len() {
        let mut framer = Framer::new(1024);
        let mut frames = framer.push(&stream[..cut]);
        frames.extend(framer.push(&stream[cut..]));
        frames.extend(framer.finish());
        let texts: Vec<String> = frames
            .iter()
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect();
        assert_eq!(
            texts,
            vec![
                "<13>1 - host app - - - hi",
                "<13>Nov 24 10:00:00 h a: two",
                "<14>1 - - - - - -"
            ],
            "cut at {cut}"
        );
    }
    // Over-long messages are cut and marked, and the stream goes on.
    let mut framer = Framer::new(16);
    let long = format!("{}\nshort\n", "x".repeat(40));
    let frames = framer.push(long.as_bytes());
    assert_eq!(frames.len(), 2);
    assert!(frames[0].truncated && frames[0].bytes.len() == 16);
    assert_eq!(frames[1].bytes, b"short");
    let counted = format!("40 <{}\n", "y".repeat(39));
    let frames = Framer::new(16).push(format!("{counted}<1>ok\n").as_bytes());
    assert!(frames[0].truncated);
    assert_eq!(frames[1].bytes, b"<1>ok");
}

fn logger_available() -> bool {
    Command::new("logger")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `logger` over UDP in both formats: what it sends parses with its tag, host and text.
#[test]
fn logger_over_udp_in_both_formats() {
    assert!(
        logger_available(),
        "util-linux logger is installed (scripts/test installs it)"
    );
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let port = socket.local_addr().expect("address").port().to_string();
    for (format, flag) in [
        (Format::Rfc5424, "--rfc5424"),
        (Format::Rfc3164, "--rfc3164"),
    ] {
        let status = Command::new("logger")
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port,
                "-d",
                flag,
                "-t",
                "yunjian-test",
                "-p",
                "auth.warning",
            ])
            .arg("Failed password for root from 203.0.113.7 port 4242 ssh2")
            .status()
            .expect("logger runs");
        assert!(status.success());
        let mut buffer = [0u8; 8192];
        let size = socket.recv(&mut buffer).expect("a datagram");
        let message = syslog::parse(&buffer[..size], &context());
        assert_eq!(message.format, format, "{message:?}");
        assert_eq!(
            (message.facility, message.severity),
            (Some(4), Some(4)),
            "{message:?}"
        );
        assert_eq!(
            message.app_name.as_deref(),
            Some("yunjian-test"),
            "{message:?}"
        );
        assert_eq!(
            message.message,
            "Failed password for root from 203.0.113.7 port 4242 ssh2"
        );
        assert!(message.hostname.is_some());
        assert!(message.source_time_ns.is_some());
    }
}

/// `logger` over TCP with RFC 6587 octet counting and with newlines.
#[test]
fn logger_over_tcp_with_both_framings() {
    assert!(logger_available());
    for octet in [true, false] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port().to_string();
        let mut command = Command::new("logger");
        command.args([
            "-n",
            "127.0.0.1",
            "-P",
            &port,
            "-T",
            "--rfc5424",
            "-t",
            "yunjian-tcp",
            "--sd-id",
            "origin@32473",
            "--sd-param",
            "zone=\"政务外网区\"",
        ]);
        if octet {
            command.arg("--octet-count");
        }
        let child = command
            .arg("第一行 first line")
            .spawn()
            .expect("logger runs");
        let (mut stream, _) = listener.accept().expect("a connection");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read");
        let _ = child.wait_with_output();
        let mut framer = Framer::new(65_536);
        let mut frames = framer.push(&bytes);
        frames.extend(framer.finish());
        assert_eq!(frames.len(), 1, "{bytes:?}");
        let message = syslog::parse(&frames[0].bytes, &context());
        assert_eq!(message.format, Format::Rfc5424);
        assert_eq!(message.message, "第一行 first line");
        let origin = message
            .structured_data
            .iter()
            .find(|sd| sd.id == "origin@32473")
            .expect("our SD element");
        assert!(
            origin
                .params
                .contains(&("zone".to_owned(), "政务外网区".to_owned())),
            "{origin:?}"
        );
    }
}

proptest! {
    /// No bytes make parsing panic, and the raw line is always kept.
    #[test]
    fn parsing_never_panics_or_loses_the_line(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let message = syslog::parse(&bytes, &context());
        prop_assert_eq!(message.raw, String::from_utf8_lossy(&bytes).into_owned());
    }

    /// Headers that look nearly right: never a panic.
    #[test]
    fn near_headers_never_panic(priority in 0u16..300, head in "[A-Za-z0-9 :\\-\\[\\]=\"<>T.+]{0,60}") {
        let line = format!("<{priority}>{head}");
        let _ = syslog::parse(line.as_bytes(), &context());
        let _ = syslog::parse(format!("<{priority}>1 {head}").as_bytes(), &context());
    }

    /// Framing a stream of newline-terminated lines, cut anywhere, gives the lines back.
    #[test]
    fn framing_returns_every_line(lines in proptest::collection::vec("<[0-9]{1,3}>[a-z ]{1,20}", 1..20), cut in 0usize..400) {
        let stream: String = lines.iter().map(|line| format!("{line}\n")).collect();
        let cut = cut.min(stream.len());
        let mut framer = Framer::new(1024);
        let mut frames = framer.push(&stream.as_bytes()[..cut]);
        frames.extend(framer.push(&stream.as_bytes()[cut..]));
        frames.extend(framer.finish());
        let texts: Vec<String> = frames.iter().map(|f| String::from_utf8_lossy(&f.bytes).into_owned()).collect();
        prop_assert_eq!(texts, lines);
    }
}

mod decoders {
    use yunjian_events::decode::{Decoders, SHIPPED};
    use yunjian_events::syslog::{self, Format};

    use super::context;

    /// Every shipped decoder loads, and each sample gives what it says (checked at load).
    #[test]
    fn the_shipped_decoders_load_and_every_sample_gives_its_fields() {
        let decoders = Decoders::shipped().unwrap_or_else(|error| panic!("{error}"));
        assert!(decoders.list.len() >= 10);
        assert!(
            decoders
                .list
                .iter()
                .all(|decoder| !decoder.samples.is_empty()),
            "each decoder has a sample"
        );
        let families: std::collections::BTreeSet<&str> =
            decoders.list.iter().map(|d| d.family.as_str()).collect();
        for family in [
            "openssh",
            "netfilter",
            "huawei_usg",
            "modsecurity",
            "clamav",
        ] {
            assert!(families.contains(family), "{family}");
        }
        assert_eq!(SHIPPED.len(), 2);
    }

    #[test]
    fn decoders_read_whole_syslog_lines_by_program_and_leave_the_rest() {
        let decoders = Decoders::shipped().expect("decoders");
        let sshd = syslog::parse(b"<38>Nov 24 09:59:58 web-01 sshd[2211]: Failed password for root from 203.0.113.7 port 51022 ssh2", &context());
        let decoded = decoders.decode(&sshd);
        assert_eq!(decoded.decoder.as_deref(), Some("openssh.failed"));
        assert_eq!(decoded.class.as_deref(), Some("Authentication"));
        assert_eq!(decoded.fields["src_ip"], "203.0.113.7");
        // The same text from another program is not sshd's.
        let other = syslog::parse(b"<38>Nov 24 09:59:58 web-01 myapp: Failed password for root from 203.0.113.7 port 1 ssh2", &context());
        assert_eq!(decoders.decode(&other).decoder, None);
        // Huawei's lines have no tag: the family decoder reads the message.
        let usg = syslog::parse(b"<188>Nov 24 2026 02:00:00 USG6600 %%01SEC/6/POLICYDENY(l):-DevIP=10.0.0.1; vsys=public; protocol=6; source-ip=10.8.1.10; source-port=52311; destination-ip=8.8.8.8; destination-port=443; time=x; policy-name=deny-outbound; action=deny", &context());
        let decoded = decoders.decode(&usg);
        assert_eq!(decoded.family.as_deref(), Some("huawei_usg"), "{usg:?}");
        assert_eq!(decoded.fields["action"], "deny");
        // A line nobody decodes is kept as it is.
        let plain = syslog::parse(b"just some words", &context());
        assert_eq!(plain.format, Format::Unparsed);
        assert_eq!(decoders.decode(&plain).decoder, None);
    }

    #[test]
    fn a_bad_decoder_file_is_refused_with_its_reason() {
        let mut decoders = Decoders::default();
        let bad_regex = "[[decoder]]\nid = \"x\"\nfamily = \"f\"\nclass = \"Network Activity\"\npattern = \"(unclosed\"\n";
        assert!(decoders
            .add("x.toml", bad_regex)
            .expect_err("refused")
            .reason
            .contains("unclosed"));
        let bad_class =
            "[[decoder]]\nid = \"x\"\nfamily = \"f\"\nclass = \"Nonsense\"\npattern = \"a\"\n";
        assert!(decoders
            .add("x.toml", bad_class)
            .expect_err("refused")
            .reason
            .contains("class"));
        let wrong_sample = "[[decoder]]\nid = \"x\"\nfamily = \"f\"\nclass = \"Network Activity\"\npattern = \"(?P<a>b)\"\n[[decoder.sample]]\nline = \"b\"\nexpect = { a = \"c\" }\n";
        assert!(decoders
            .add("x.toml", wrong_sample)
            .expect_err("refused")
            .reason
            .contains("sample"));
        let unknown_key = "[[decoder]]\nid = \"x\"\nfamily = \"f\"\nclass = \"Network Activity\"\npattern = \"a\"\ncolour = \"red\"\n";
        assert!(decoders.add("x.toml", unknown_key).is_err());
        assert!(decoders.list.is_empty(), "nothing half-added");
    }
}

mod classification {
    use yunjian_events::classify::{grade, Classifier, Grade, Impact, Importance, Loss};
    use yunjian_events::decode::Decoders;

    #[test]
    fn both_editions_load_with_the_standards_counts_and_every_decoder_is_classified() {
        let classifier = Classifier::shipped().unwrap_or_else(|error| panic!("{error}"));
        // GB/Z 20986-2007: 7 categories, 28 subcategories.
        assert_eq!(classifier.categories_2007().len(), 7);
        assert_eq!(
            classifier
                .categories_2007()
                .iter()
                .map(|c| c.sub.len())
                .sum::<usize>(),
            28
        );
        // GB/T 20986-2023: 10 categories.
        assert_eq!(classifier.categories_2023().len(), 10);
        let ssh = classifier.classify("openssh.failed");
        assert_eq!(ssh.gbz2007.text(), "NAI/ONAI");
        assert_eq!(ssh.gbt2023.text(), "NA/NACRED");
        assert_eq!(ssh.gbt2023.subcategory_zh.as_deref(), Some("凭据攻击"));
        assert_eq!(
            classifier.classify("nothing-maps-this").gbz2007.text(),
            "OI"
        );
        // Each shipped decoder that reports an attack has its own mapping.
        for decoder in Decoders::shipped().expect("decoders").list {
            if matches!(
                decoder.id.as_str(),
                "openssh.accepted" | "sudo.command" | "netfilter.log" | "huawei_usg.session"
            ) {
                continue; // activity, classified by the rules that judge it
            }
            assert_ne!(
                classifier.classify(&decoder.id).gbz2007.text(),
                "OI",
                "{}",
                decoder.id
            );
        }
    }

    #[test]
    fn a_table_naming_a_code_that_does_not_exist_is_refused() {
        let bad =
            Classifier::load(&yunjian_events::classify::SHIPPED.replace("NA/NACRED", "NA/NOPE"));
        assert!(bad.expect_err("refused").0.contains("NOPE"));
        let no_fallback = Classifier::load(
            &yunjian_events::classify::SHIPPED.replace("detector = \"*\"", "detector = \"x\""),
        );
        assert!(no_fallback.expect_err("refused").0.contains("fallback"));
    }

    /// §5.2's table, row by row, and the higher path wins.
    #[test]
    fn grades_follow_the_standards_table() {
        use Importance::*;
        use Loss::*;
        assert_eq!(
            grade(EspeciallyImportant, EspeciallySerious, Impact::Ordinary),
            Grade::I
        );
        assert_eq!(
            grade(EspeciallyImportant, Serious, Impact::Ordinary),
            Grade::II
        );
        assert_eq!(
            grade(Important, EspeciallySerious, Impact::Ordinary),
            Grade::II
        );
        assert_eq!(
            grade(EspeciallyImportant, RelativelyLarge, Impact::Ordinary),
            Grade::III
        );
        assert_eq!(grade(Important, Serious, Impact::Ordinary), Grade::III);
        assert_eq!(
            grade(Ordinary, EspeciallySerious, Impact::Ordinary),
            Grade::III
        );
        assert_eq!(
            grade(EspeciallyImportant, Small, Impact::Ordinary),
            Grade::IV
        );
        assert_eq!(
            grade(Important, RelativelyLarge, Impact::Ordinary),
            Grade::IV
        );
        assert_eq!(grade(Ordinary, Serious, Impact::Ordinary), Grade::IV);
        // The social-impact path alone.
        assert_eq!(grade(Ordinary, Small, Impact::EspeciallyMajor), Grade::I);
        assert_eq!(grade(Ordinary, Small, Impact::Major), Grade::II);
        assert_eq!(
            grade(Important, Serious, Impact::Major),
            Grade::II,
            "the higher path"
        );
        assert_eq!(Importance::of_mlps_level(3), Important);
        assert_eq!(Grade::I.label_zh(), "Ⅰ级 特别重大事件");
    }
}

mod normalize {
    use yunjian_events::classify::Classifier;
    use yunjian_events::decode::Decoders;
    use yunjian_events::event;
    use yunjian_events::syslog;

    use super::{context, RECEIVED_NS};

    #[test]
    fn a_decoded_syslog_line_becomes_one_classified_event_with_its_skew() {
        let classifier = Classifier::shipped().expect("classifier");
        let decoders = Decoders::shipped().expect("decoders");
        let message = syslog::parse(b"<38>Nov 24 09:59:58 web-01 sshd[2211]: Failed password for root from 203.0.113.7 port 51022 ssh2", &context());
        let sender = "10.1.1.5".parse().ok();
        let normalized = event::from_syslog(
            &message,
            &decoders.decode(&message),
            &classifier,
            RECEIVED_NS,
            sender,
        );
        assert_eq!(normalized.class, "Authentication");
        assert_eq!(normalized.src_ip, "203.0.113.7".parse().ok());
        assert_eq!(normalized.src_port, Some(51022));
        assert_eq!(normalized.user.as_deref(), Some("root"));
        assert_eq!(
            (normalized.gbz2007.as_str(), normalized.gbt2023.as_str()),
            ("NAI/ONAI", "NA/NACRED")
        );
        assert_eq!(
            normalized.skew_ns(),
            Some(-2_000_000_000),
            "the source's clock is 2 s behind"
        );
        assert_eq!(normalized.device.as_deref(), Some("web-01"));
        assert_eq!(
            normalized.extra.get("method").map(String::as_str),
            Some("password")
        );
        // Undecoded: a base event, classified as other, the line kept.
        let plain = syslog::parse(b"<13>Nov 24 10:00:00 h app: nothing to see", &context());
        let base = event::from_syslog(
            &plain,
            &decoders.decode(&plain),
            &classifier,
            RECEIVED_NS,
            None,
        );
        assert_eq!(
            (base.class.as_str(), base.gbz2007.as_str()),
            ("Base Event", "OI")
        );
        assert_eq!(base.message, "nothing to see");
    }

    #[test]
    fn suricata_eve_alerts_and_flows_and_garbage() {
        let classifier = Classifier::shipped().expect("classifier");
        let alert = br#"{"timestamp":"2026-11-24T10:00:00.250000+0800","flow_id":1234,"in_iface":"eth0","event_type":"alert","src_ip":"203.0.113.7","src_port":43122,"dest_ip":"10.8.1.10","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024217,"rev":3,"signature":"ET WEB_SPECIFIC_APPS Apache Struts RCE","category":"Web Application Attack","severity":1},"http":{"hostname":"portal.cq.gov.cn","url":"/index.action"},"app_proto":"http","host":"ids-01"}"#;
        let normalized = event::from_eve(alert, &classifier, RECEIVED_NS, None);
        assert_eq!(normalized.class, "Detection Finding");
        assert_eq!(normalized.rule_id.as_deref(), Some("2024217"));
        assert_eq!(normalized.dst_port, Some(80));
        assert_eq!(normalized.severity, Some(2));
        assert_eq!(
            (normalized.gbz2007.as_str(), normalized.gbt2023.as_str()),
            ("NAI/VAI", "NA/NAEXPLOIT")
        );
        assert_eq!(normalized.skew_ns(), Some(250_000_000));
        assert_eq!(normalized.extra["http_url"], "/index.action");
        let flow = br#"{"timestamp":"2026-11-24T10:00:01.000000+0800","event_type":"flow","src_ip":"10.8.1.10","src_port":50000,"dest_ip":"8.8.8.8","dest_port":443,"proto":"TCP","flow":{"bytes_toserver":52428800,"bytes_toclient":1024}}"#;
        let flow = event::from_eve(flow, &classifier, RECEIVED_NS, None);
        assert_eq!(flow.class, "Network Activity");
        assert_eq!(flow.extra["bytes_toserver"], "52428800");
        assert_eq!(flow.gbz2007, "OI", "activity, not a finding");
        let garbage = event::from_eve(b"{not json", &classifier, RECEIVED_NS, None);
        assert_eq!(
            (garbage.class.as_str(), garbage.raw.as_str()),
            ("Base Event", "{not json")
        );
    }
}

mod resolution {
    use std::net::IpAddr;

    use proptest::prelude::*;
    use yunjian_events::resolve::{
        is_public, AddressIndex, Machine, Network, Owner, Resolution, Within,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn index() -> AddressIndex {
        // Two tenants reuse 10.1.0.0/16, one in each zone; a third VPC elsewhere.
        AddressIndex::build(
            vec![
                Network {
                    vpc_id: 1,
                    tenant_id: 11,
                    zone_id: 1,
                    cidrs: vec!["10.1.0.0/16".parse().expect("cidr")],
                },
                Network {
                    vpc_id: 2,
                    tenant_id: 12,
                    zone_id: 2,
                    cidrs: vec!["10.1.0.0/16".parse().expect("cidr")],
                },
                Network {
                    vpc_id: 3,
                    tenant_id: 13,
                    zone_id: 2,
                    cidrs: vec![
                        "10.9.0.0/16".parse().expect("cidr"),
                        "fd00:9::/48".parse().expect("cidr"),
                    ],
                },
            ],
            &[
                Machine {
                    vm_id: 100,
                    vpc_id: 1,
                    system_id: Some(7),
                    addresses: vec![ip("10.1.1.5")],
                },
                Machine {
                    vm_id: 200,
                    vpc_id: 2,
                    system_id: None,
                    addresses: vec![ip("10.1.1.5")],
                },
                Machine {
                    vm_id: 300,
                    vpc_id: 3,
                    system_id: Some(9),
                    addresses: vec![ip("fd00:9::5")],
                },
            ],
        )
    }

    #[test]
    fn reused_private_space_resolves_within_its_context_and_never_by_guess() {
        let index = index();
        // Without context two VPCs claim 10.1.1.5: ambiguous, not the first one found.
        assert_eq!(
            index.resolve(ip("10.1.1.5"), Within::default()),
            Resolution::Ambiguous(vec![1, 2])
        );
        // Within the sender's zone, it is one tenant's VM and system.
        assert_eq!(
            index.resolve(
                ip("10.1.1.5"),
                Within {
                    zone_id: Some(1),
                    ..Within::default()
                }
            ),
            Resolution::Found(Owner {
                tenant_id: 11,
                vpc_id: 1,
                zone_id: 1,
                vm_id: Some(100),
                system_id: Some(7)
            })
        );
        assert!(matches!(
            index.resolve(
                ip("10.1.1.5"),
                Within {
                    vpc_id: Some(2),
                    ..Within::default()
                }
            ),
            Resolution::Found(Owner {
                tenant_id: 12,
                vm_id: Some(200),
                ..
            })
        ));
        // A device dedicated to one tenant sees that tenant's VPCs only.
        assert!(matches!(
            index.resolve(
                ip("10.1.1.5"),
                Within {
                    tenant_id: Some(12),
                    ..Within::default()
                }
            ),
            Resolution::Found(Owner { tenant_id: 12, .. })
        ));
        // In a VPC but on no VM: the VPC's.
        assert!(matches!(
            index.resolve(ip("10.9.3.3"), Within::default()),
            Resolution::Found(Owner {
                tenant_id: 13,
                vm_id: None,
                ..
            })
        ));
        assert!(matches!(
            index.resolve(ip("fd00:9::5"), Within::default()),
            Resolution::Found(Owner {
                vm_id: Some(300),
                ..
            })
        ));
        // Public addresses go to the country lookup; private or reserved ones never do.
        assert_eq!(
            index.resolve(ip("8.8.8.8"), Within::default()),
            Resolution::Public
        );
        for private in [
            "192.168.1.1",
            "172.20.0.1",
            "100.64.0.1",
            "203.0.113.7",
            "127.0.0.1",
            "fe80::1",
            "2001:db8::1",
        ] {
            assert_eq!(
                index.resolve(ip(private), Within::default()),
                Resolution::Unknown,
                "{private}"
            );
        }
        assert!(is_public(ip("2400:3200::1")) && !is_public(ip("fc00::1")));
    }

    proptest! {
        /// Any address resolves to one of the four answers, and a found owner's VPC
        /// really holds it.
        #[test]
        fn every_address_gets_an_honest_answer(a in any::<u8>(), b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), zone in proptest::option::of(1i64..3)) {
            let address = IpAddr::from([a, b, c, d]);
            match index().resolve(address, Within { zone_id: zone, ..Within::default() }) {
                Resolution::Found(owner) => {
                    let holds = match owner.vpc_id {
                        1 | 2 => [10, 1] == [a, b],
                        _ => [10, 9] == [a, b],
                    };
                    prop_assert!(holds);
                }
                Resolution::Ambiguous(ids) => prop_assert!(ids.len() > 1 && zone.is_none()),
                Resolution::Public => prop_assert!(is_public(address)),
                Resolution::Unknown => prop_assert!(!is_public(address)),
            }
        }
    }
}
