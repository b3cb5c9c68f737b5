//! The one event schema everything is normalized into (7.5.10.5): times (ours and the
//! source's), the network five-tuple, who, what and how it ended, which device and rule,
//! the message and the raw line, the OCSF class, and both editions' incident codes.
//! Syslog messages (through the decoders) and Suricata EVE lines both arrive here;
//! a line that cannot be read is still an event, with its raw text.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value as Json;

use crate::classify::Classifier;
use crate::decode::Decoded;
use crate::syslog::SyslogMessage;

/// A normalized event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub received_ns: i64,
    pub source_time_ns: Option<i64>,
    /// The address the event came from (the syslog sender).
    pub sender: Option<IpAddr>,
    /// The device's own name (syslog hostname, EVE `host`).
    pub device: Option<String>,
    /// OCSF class name; `Base Event` when nothing decoded it.
    pub class: String,
    pub family: Option<String>,
    /// What detected it: a decoder id, an EVE alert's category.
    pub detector: Option<String>,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<IpAddr>,
    pub dst_port: Option<u16>,
    pub protocol: Option<String>,
    pub user: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub rule: Option<String>,
    pub rule_id: Option<String>,
    /// Syslog severity 0 (emergency) to 7 (debug), or EVE's 1 (high) to 3 mapped onto it.
    pub severity: Option<u8>,
    pub message: String,
    pub raw: String,
    /// Every other field a decoder read.
    pub extra: BTreeMap<String, String>,
    /// GB/Z 20986-2007 and GB/T 20986-2023 codes (`NAI/ONAI`, `NA/NACRED`).
    pub gbz2007: String,
    pub gbt2023: String,
}

impl Event {
    /// How far the source's clock is from ours when the event arrived (source − us).
    pub fn skew_ns(&self) -> Option<i64> {
        self.source_time_ns.map(|source| source - self.received_ns)
    }
}

const STANDARD: [&str; 11] = [
    "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "user", "action", "outcome", "rule",
    "rule_id", "event",
];

fn address(text: Option<&String>) -> Option<IpAddr> {
    text.and_then(|text| text.trim().parse().ok())
}

fn port(text: Option<&String>) -> Option<u16> {
    text.and_then(|text| text.trim().parse().ok())
}

/// A syslog message and what the decoders read from it.
pub fn from_syslog(
    message: &SyslogMessage,
    decoded: &Decoded,
    classifier: &Classifier,
    received_ns: i64,
    sender: Option<IpAddr>,
) -> Event {
    let fields = &decoded.fields;
    let detector = decoded.decoder.clone();
    let classification = classifier.classify(detector.as_deref().unwrap_or("*"));
    let mut extra: BTreeMap<String, String> = fields
        .iter()
        .filter(|(key, _)| !STANDARD.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // Values that did not parse as what their name says are kept, not dropped.
    for key in ["src_ip", "dst_ip", "src_port", "dst_port"] {
        if let Some(value) = fields.get(key) {
            let readable = if key.ends_with("_ip") {
                address(Some(value)).is_some()
            } else {
                port(Some(value)).is_some()
            };
            if !readable {
                extra.insert(format!("{key}_text"), value.clone());
            }
        }
    }
    if let Some(event) = fields.get("event") {
        extra.insert("event".into(), event.clone());
    }
    Event {
        received_ns,
        source_time_ns: message.source_time_ns,
        sender,
        device: message.hostname.clone(),
        class: decoded.class.clone().unwrap_or_else(|| "Base Event".into()),
        family: decoded.family.clone(),
        detector,
        src_ip: address(fields.get("src_ip")),
        src_port: port(fields.get("src_port")),
        dst_ip: address(fields.get("dst_ip")),
        dst_port: port(fields.get("dst_port")),
        protocol: fields.get("protocol").cloned(),
        user: fields.get("user").cloned(),
        action: fields.get("action").cloned(),
        outcome: fields.get("outcome").cloned(),
        rule: fields.get("rule").cloned(),
        rule_id: fields.get("rule_id").cloned(),
        severity: message.severity,
        message: message.message.clone(),
        raw: message.raw.clone(),
        extra,
        gbz2007: classification.gbz2007.text(),
        gbt2023: classification.gbt2023.text(),
    }
}

/// One Suricata EVE JSON line. An alert's detector is its category (the classtype's
/// description, e.g. `Web Application Attack`); other event types are network or HTTP
/// activity. A line that is not EVE JSON is still an event: unparsed, raw kept.
pub fn from_eve(
    line: &[u8],
    classifier: &Classifier,
    received_ns: i64,
    sender: Option<IpAddr>,
) -> Event {
    let raw = String::from_utf8_lossy(line).into_owned();
    let json: Option<Json> = serde_json::from_slice(line).ok().filter(Json::is_object);
    let Some(json) = json else {
        let fallback = classifier.classify("*");
        return Event {
            received_ns,
            source_time_ns: None,
            sender,
            device: None,
            class: "Base Event".into(),
            family: Some("suricata".into()),
            detector: None,
            src_ip: None,
            src_port: None,
            dst_ip: None,
            dst_port: None,
            protocol: None,
            user: None,
            action: None,
            outcome: None,
            rule: None,
            rule_id: None,
            severity: None,
            message: raw.trim_end().to_owned(),
            raw,
            extra: BTreeMap::new(),
            gbz2007: fallback.gbz2007.text(),
            gbt2023: fallback.gbt2023.text(),
        };
    };
    let text = |value: &Json| value.as_str().map(str::to_owned);
    let event_type = json["event_type"].as_str().unwrap_or("");
    let alert = &json["alert"];
    let detector = (event_type == "alert")
        .then(|| text(&alert["category"]))
        .flatten();
    let classification = classifier.classify(detector.as_deref().unwrap_or("*"));
    // EVE timestamps are `2026-11-24T10:00:00.123456+0800`.
    let source_time_ns = json["timestamp"].as_str().and_then(|stamp| {
        chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z")
            .ok()
            .and_then(|time| time.timestamp_nanos_opt())
    });
    let class = match event_type {
        "alert" => "Detection Finding",
        "http" => "HTTP Activity",
        "dns" => "DNS Activity",
        "fileinfo" => "File System Activity",
        "flow" | "netflow" => "Network Activity",
        _ => "Base Event",
    };
    let mut extra = BTreeMap::new();
    extra.insert("event_type".to_owned(), event_type.to_owned());
    for (key, value) in [
        ("http_hostname", &json["http"]["hostname"]),
        ("http_url", &json["http"]["url"]),
        ("http_method", &json["http"]["http_method"]),
        ("http_status", &json["http"]["status"]),
        ("bytes_toserver", &json["flow"]["bytes_toserver"]),
        ("bytes_toclient", &json["flow"]["bytes_toclient"]),
        ("app_proto", &json["app_proto"]),
    ] {
        match value {
            Json::String(text) => {
                extra.insert(key.to_owned(), text.clone());
            }
            Json::Number(number) => {
                extra.insert(key.to_owned(), number.to_string());
            }
            _ => {}
        }
    }
    let message = match event_type {
        "alert" => alert["signature"].as_str().unwrap_or("alert").to_owned(),
        other => format!("suricata {other}"),
    };
    Event {
        received_ns,
        source_time_ns,
        sender,
        device: text(&json["host"]),
        class: class.to_owned(),
        family: Some("suricata".into()),
        detector,
        src_ip: json["src_ip"].as_str().and_then(|ip| ip.parse().ok()),
        src_port: json["src_port"]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok()),
        dst_ip: json["dest_ip"].as_str().and_then(|ip| ip.parse().ok()),
        dst_port: json["dest_port"]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok()),
        protocol: text(&json["proto"]),
        user: None,
        action: text(&alert["action"]),
        outcome: None,
        rule: text(&alert["signature"]),
        rule_id: alert["signature_id"].as_u64().map(|id| id.to_string()),
        // EVE severity 1 (high) .. 3 (low) onto syslog's 2 (critical) .. 4 (warning).
        severity: alert["severity"]
            .as_u64()
            .map(|severity| (severity.clamp(1, 3) + 1) as u8),
        message,
        raw,
        extra,
        gbz2007: classification.gbz2007.text(),
        gbt2023: classification.gbt2023.text(),
    }
}
