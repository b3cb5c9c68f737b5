//! The demo's security resource pool (issue 7): a firewall (Huawei USG over TCP), a WAF
//! (ModSecurity), an antivirus (ClamAV) and hosts' sshd send syslog from their own
//! loopback addresses to the demo's syslog port; an IDS (Suricata) sends EVE batches
//! through the provider API, signed with the first provider's key; one stray sender is
//! never registered. Normal traffic flows every round, and each round stages one of the
//! attacks the shipped rules look for (the first round all of them), against the demo
//! world's own VMs, so the event search, the alerts and graded incidents are alive.
//! (The cross-border case needs the country database: `--geoip`.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{json, Value as Json};
use tokio::io::AsyncWriteExt;
use yunjian_app::{App, CreatedAccount};
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;
use yunjian_store::NewEventSource;

use crate::api_client::Signer;
use crate::demo_live::{context_of, round_seconds};

const FIREWALL: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 1);
const WAF: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 2);
const ANTIVIRUS: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 3);
const HOSTS: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 4);
const STRAY: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 99);

/// A VM of the demo world as the scenarios need it.
#[derive(Clone, Debug)]
struct Vm {
    address: String,
    tenant: i64,
    vpc: i64,
    zone_kind: String,
    name: String,
}

/// Who plays which part.
struct Cast {
    /// An internet-zone VM: the web attacks' and the APT chain's target.
    exposed: Vm,
    /// Two tenants' VMs in one zone.
    cross: (Vm, Vm),
    /// Nine VMs of one VPC: one moves laterally to the others.
    vpc_mates: Vec<Vm>,
    /// Any other VM, for background traffic.
    others: Vec<Vm>,
}

async fn cast(app: &App) -> Result<Cast> {
    let store = app.store();
    let zones: std::collections::HashMap<i64, String> = store
        .scan_all(Kind::Zone)
        .await?
        .into_iter()
        .filter_map(|zone| match zone.values.get("zone_kind") {
            Some(Value::Text(kind)) => Some((zone.id, kind.clone())),
            _ => None,
        })
        .collect();
    let vpc_zone: std::collections::HashMap<i64, i64> = store
        .scan_all(Kind::Vpc)
        .await?
        .into_iter()
        .filter_map(|vpc| Some((vpc.id, vpc.values.get("zone_id").and_then(Value::as_int)?)))
        .collect();
    let vms: Vec<Vm> = store
        .scan_all(Kind::Vm)
        .await?
        .into_iter()
        .filter_map(|vm| {
            let Some(Value::TextList(addresses)) = vm.values.get("ip_addresses") else {
                return None;
            };
            let vpc = vm.values.get("vpc_id").and_then(Value::as_int)?;
            Some(Vm {
                address: addresses.first()?.clone(),
                tenant: vm.values.get("tenant_id").and_then(Value::as_int)?,
                vpc,
                zone_kind: zones.get(vpc_zone.get(&vpc)?)?.clone(),
                name: match vm.values.get("name") {
                    Some(Value::Text(name)) => name.clone(),
                    _ => format!("vm-{}", vm.id),
                },
            })
        })
        .collect();
    // Internet-zone VPCs reuse private space across tenants (as real ones do), so the
    // exposed system is one whose address only its own VPC claims: an extranet VM.
    let exposed = vms
        .iter()
        .filter(|vm| vm.zone_kind == "extranet")
        .nth(3)
        .or_else(|| vms.first())
        .cloned()
        .context("the demo world has no VM with an address")?;
    let cross = vms
        .iter()
        .filter(|a| a.zone_kind == "extranet")
        .find_map(|a| {
            vms.iter()
                .find(|b| b.zone_kind == a.zone_kind && b.tenant != a.tenant)
                .map(|b| (a.clone(), b.clone()))
        })
        .context("two tenants in one zone")?;
    let mut by_vpc: std::collections::BTreeMap<i64, Vec<Vm>> = Default::default();
    for vm in &vms {
        by_vpc.entry(vm.vpc).or_default().push(vm.clone());
    }
    let vpc_mates = by_vpc
        .into_values()
        .find(|mates| mates.len() >= 9)
        .map(|mates| mates.into_iter().take(9).collect())
        .unwrap_or_default();
    Ok(Cast {
        exposed,
        cross,
        vpc_mates,
        others: vms.into_iter().take(50).collect(),
    })
}

/// Registers the pool's devices (as the security administrator would).
async fn register(app: &App, accounts: &[CreatedAccount]) -> Result<()> {
    let secadmin = accounts
        .iter()
        .find(|account| account.role == Role::SecurityAdmin)
        .context("the demo's security administrator")?;
    let context = context_of(app, secadmin);
    let zones = app.store().scan_all(Kind::Zone).await?;
    let zone_of = |kind: &str| {
        zones
            .iter()
            .find(|zone| matches!(zone.values.get("zone_kind"), Some(Value::Text(found)) if found == kind))
            .map(|zone| zone.id)
    };
    let extranet = zone_of("extranet");
    let internet = zone_of("internet");
    for (name, address, kind, zone) in [
        (
            "USG6000E 核心防火墙 / core firewall",
            FIREWALL,
            "firewall",
            None,
        ),
        (
            "WAF ModSecurity 互联网区 / internet-zone WAF",
            WAF,
            "waf",
            internet,
        ),
        (
            "ClamAV 防病毒 / antivirus",
            ANTIVIRUS,
            "antivirus",
            extranet,
        ),
        ("主机日志汇聚 / host syslog relay", HOSTS, "host", None),
    ] {
        app.add_event_source(
            &context,
            &NewEventSource {
                name: name.into(),
                address: address.to_string(),
                kind: kind.into(),
                provider_id: None,
                zone_id: zone,
                tenant_id: None,
            },
        )
        .await
        .map_err(|error| anyhow::anyhow!("registering {name}: {error}"))?;
    }
    Ok(())
}

/// Now on the system clock (the app's), in Beijing time.
fn beijing_now() -> chrono::DateTime<chrono::FixedOffset> {
    use yunjian_app::Clock as _;
    chrono::DateTime::from_timestamp_nanos(yunjian_app::SystemClock.now_ns())
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is an offset"))
}

/// Beijing time now, as RFC 3164 (`Nov 24 10:00:00`) and as Huawei writes it
/// (`Nov 24 2026 10:00:00`).
fn stamps() -> (String, String) {
    let now = beijing_now();
    (
        now.format("%b %e %H:%M:%S").to_string(),
        now.format("%b %d %Y %H:%M:%S").to_string(),
    )
}

fn usg(action: &str, src: &str, dst: &str, port: u16) -> String {
    let event = if action == "permit" {
        "POLICYPERMIT"
    } else {
        "POLICYDENY"
    };
    let (_, huawei) = stamps();
    format!("<190>{huawei} USG6000E %%01SEC/6/{event}(l):-DevIP=10.255.0.1; vsys=public; protocol=6; source-ip={src}; source-port={}; destination-ip={dst}; destination-port={port}; time=2026/11/24 10:00:00; source-zone=untrust; destination-zone=trust; policy-name=demo; action={action}",
        40_000 + port % 20_000)
}

fn ips(src: &str, dst: &str, signature: &str) -> String {
    let (_, huawei) = stamps();
    format!(
        r#"<188>{huawei} USG6000E %%01IPS/4/DETECT(l):An intrusion was detected. (SyslogId=1, VSys="public", Policy="ips", SrcIp={src}, DstIp={dst}, SrcPort=43122, DstPort=8080, Protocol=TCP, Application="HTTP", Profile="default", SignName="{signature}", SignId=1000235, Severity=High, Action=Alert)"#
    )
}

fn eve(event_type: &str, src: &str, dst: &str, port: u16, extra: Json) -> Json {
    let mut object = json!({
        "timestamp": beijing_now().format("%Y-%m-%dT%H:%M:%S%.6f%z").to_string(),
        "event_type": event_type, "src_ip": src, "src_port": 50_000, "dest_ip": dst, "dest_port": port,
        "proto": "TCP", "host": "suricata-01",
    });
    if let (Some(object), Json::Object(extra)) = (object.as_object_mut(), extra) {
        object.extend(extra);
    }
    object
}

/// The senders: UDP sockets and one TCP connection, each from its device's address.
struct Senders {
    target: SocketAddr,
    firewall: Option<tokio::net::TcpStream>,
    signer: Option<Signer>,
}

impl Senders {
    async fn udp(&self, from: Ipv4Addr, lines: &[String]) {
        let Ok(socket) = tokio::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(from), 0)).await
        else {
            return;
        };
        for line in lines {
            let _ = socket.send_to(line.as_bytes(), self.target).await;
        }
    }

    /// The firewall keeps one TCP connection (octet-counted framing), reconnecting.
    async fn firewall(&mut self, lines: &[String]) {
        if self.firewall.is_none() {
            let socket = tokio::net::TcpSocket::new_v4();
            if let Ok(socket) = socket {
                if socket
                    .bind(SocketAddr::new(IpAddr::V4(FIREWALL), 0))
                    .is_ok()
                {
                    self.firewall = socket.connect(self.target).await.ok();
                }
            }
        }
        let Some(stream) = self.firewall.as_mut() else {
            return;
        };
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(format!("{} {line}", line.len()).as_bytes());
        }
        if stream.write_all(&bytes).await.is_err() {
            self.firewall = None;
        }
    }

    async fn eve(&self, events: Vec<Json>) {
        let Some(signer) = &self.signer else { return };
        let body = json!({"format": "eve", "lines": events.iter().map(Json::to_string).collect::<Vec<_>>()});
        match signer
            .send(
                "POST",
                "/api/v1/events/batches",
                body.to_string().as_bytes(),
            )
            .await
        {
            Ok((status, _)) if status.is_success() => {}
            Ok((status, text)) => tracing::warn!(%status, %text, "the demo IDS batch was refused"),
            Err(error) => tracing::warn!(%error, "the demo IDS batch failed"),
        }
    }
}

/// Starts the demo's event stream towards the syslog port and the API at `base`.
pub async fn start(
    app: &App,
    accounts: &[CreatedAccount],
    syslog: SocketAddr,
    base: &str,
) -> Result<()> {
    register(app, accounts).await?;
    let cast = cast(app).await?;
    let operator = accounts
        .iter()
        .find(|account| account.role == Role::ProviderOperator)
        .context("a demo provider operator")?;
    let key = app
        .create_api_key(
            &context_of(app, operator),
            "演示：IDS 事件推送 / demo IDS events",
        )
        .await
        .map_err(|error| anyhow::anyhow!("an API key for the demo IDS: {error}"))?;
    let senders = Senders {
        target: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), syslog.port()),
        firewall: None,
        signer: Some(Signer::new(base, &key.access_key_id, key.secret.clone())?),
    };
    tokio::spawn(rounds(senders, cast));
    Ok(())
}

const SCENARIOS: usize = 11;

async fn rounds(mut senders: Senders, cast: Cast) {
    for round in 0usize.. {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(round_seconds().clamp(5, 60) / 2)).await;
        }
        background(&mut senders, &cast, round).await;
        if round == 0 {
            for scenario in 0..SCENARIOS {
                stage(&mut senders, &cast, scenario).await;
            }
        } else {
            stage(&mut senders, &cast, round % SCENARIOS).await;
        }
    }
}

async fn background(senders: &mut Senders, cast: &Cast, round: usize) {
    let mut allowed = Vec::new();
    let mut flows = Vec::new();
    for (index, vm) in cast.others.iter().enumerate().take(20) {
        let peer = &cast.others[(index + round + 1) % cast.others.len()];
        allowed.push(usg("permit", &vm.address, &peer.address, 443));
        flows.push(eve(
            "flow",
            &vm.address,
            &peer.address,
            443,
            json!({"flow": {"bytes_toserver": 4_096 + index, "bytes_toclient": 81_920}}),
        ));
    }
    senders.firewall(&allowed).await;
    let host = &cast.others[round % cast.others.len()];
    senders
        .udp(HOSTS, &[format!("<38>{} {} sshd[2211]: Accepted publickey for ops from 10.255.9.10 port 53111 ssh2: ED25519 SHA256:demo", stamps().0, host.name)])
        .await;
    if round.is_multiple_of(3) {
        senders
            .udp(
                STRAY,
                &[format!(
                    "<14>{} unknown-box app[1]: heartbeat from an unregistered device",
                    stamps().0
                )],
            )
            .await;
    }
    senders.eve(flows).await;
}

/// One attack the shipped rules look for.
async fn stage(senders: &mut Senders, cast: &Cast, scenario: usize) {
    let attacker = format!(
        "45.{}.{}.{}",
        60 + scenario,
        7 * scenario % 250,
        13 + scenario
    );
    let exposed = &cast.exposed.address;
    match scenario {
        // SSH brute force against an exposed host (12 failures at once).
        0 => {
            let lines: Vec<String> = (0..12)
                .map(|n| format!("<38>{} {} sshd[2211]: Failed password for invalid user admin{n} from {attacker} port {} ssh2", stamps().0, cast.exposed.name, 50_000 + n))
                .collect();
            senders.udp(HOSTS, &lines).await;
        }
        // A port scan refused by the firewall.
        1 => {
            let lines: Vec<String> = (0..30)
                .map(|n| usg("deny", &attacker, exposed, 1_000 + n))
                .collect();
            senders.firewall(&lines).await;
        }
        // SQL injection blocked by the WAF.
        2 => {
            senders.udp(WAF, &[format!(r#"<131>{} waf-01 modsecurity: ModSecurity: Access denied with code 403 (phase 2). Matched "Operator `Ge' with parameter `5' against variable `TX:ANOMALY_SCORE' (Value: `5' ) [file "/etc/modsecurity/crs/REQUEST-949-BLOCKING-EVALUATION.conf"] [line "80"] [id "942100"] [msg "SQL Injection Attack Detected via libinjection"] [severity "CRITICAL"] [hostname "{exposed}"] [uri "/search"] [unique_id "demo{scenario}"]"#, stamps().0)]).await;
        }
        // A webshell posted into an upload directory, then found by the antivirus.
        3 => {
            senders.eve(vec![eve("http", &attacker, exposed, 80, json!({"http": {"hostname": "portal.cq.gov.cn", "url": "/upload/files/cmd.jsp", "http_method": "POST", "status": 200}}))]).await;
            senders.udp(ANTIVIRUS, &[format!("<131>{} {} clamd[811]: /var/www/upload/files/cmd.jsp: Jsp.Webshell.Generic-2 FOUND", stamps().0, cast.exposed.name)]).await;
        }
        // Malware in a file share.
        4 => {
            senders.udp(ANTIVIRUS, &[format!("<131>{} {} clamd[811]: /srv/share/invoice.doc: Doc.Dropper.Agent-6345 FOUND", stamps().0, cast.cross.0.name)]).await;
        }
        // One tenant's VM reaches another tenant's database, allowed by the firewall.
        5 => {
            let (a, b) = &cast.cross;
            senders
                .firewall(&[usg("permit", &a.address, &b.address, 3306)])
                .await;
        }
        // East-west lateral movement inside one VPC.
        6 => {
            if let Some((first, rest)) = cast.vpc_mates.split_first() {
                let flows = rest
                    .iter()
                    .enumerate()
                    .map(|(index, peer)| {
                        eve(
                            "flow",
                            &first.address,
                            &peer.address,
                            if index % 2 == 0 { 22 } else { 3389 },
                            json!({"flow": {"bytes_toserver": 2_048, "bytes_toclient": 1_024}}),
                        )
                    })
                    .collect();
                senders.eve(flows).await;
            }
        }
        // The APT chain: probe, exploit, callback, exfiltration, in order.
        7 => {
            senders
                .firewall(&[usg("deny", &attacker, exposed, 8080)])
                .await;
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            senders
                .firewall(&[ips(
                    &attacker,
                    exposed,
                    "Apache Struts2 Remote Code Execution",
                )])
                .await;
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            senders.eve(vec![eve("alert", exposed, "185.220.101.7", 443, json!({"alert": {"action": "allowed", "signature_id": 2_024_897, "signature": "ET MALWARE Cobalt Strike Beacon Observed", "category": "Malware Command and Control Activity Detected", "severity": 1}}))]).await;
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            senders
                .eve(vec![eve(
                    "flow",
                    exposed,
                    "185.220.101.7",
                    443,
                    json!({"flow": {"bytes_toserver": 734_003_200_u64, "bytes_toclient": 20_480}}),
                )])
                .await;
        }
        // A SYN flood refused by the firewall.
        8 => {
            let lines: Vec<String> = (0..250)
                .map(|n| {
                    usg(
                        "deny",
                        &format!("198.18.{}.{}", n / 200, n % 200 + 1),
                        exposed,
                        443,
                    )
                })
                .collect();
            senders.firewall(&lines).await;
        }
        // An extranet system connects abroad and the firewall lets it (cross-border,
        // 7.2.3.7; needs the country database, `--geoip`).
        10 => {
            let (inside, _) = &cast.cross;
            senders
                .firewall(&[usg("permit", &inside.address, "185.220.101.7", 443)])
                .await;
        }
        // The IDS sees a scan and a denial-of-service attempt.
        _ => {
            senders.eve(vec![
                eve("alert", &attacker, exposed, 80, json!({"alert": {"action": "allowed", "signature_id": 2_009_582, "signature": "ET SCAN NMAP -sS window 1024", "category": "Detection of a Network Scan", "severity": 2}})),
                eve("alert", &attacker, exposed, 80, json!({"alert": {"action": "allowed", "signature_id": 2_019_102, "signature": "ET DOS Possible NTP DDoS Inbound Frequent Un-Authed MON_LIST Requests", "category": "Attempted Denial of Service", "severity": 2}})),
            ])
            .await;
        }
    }
}
