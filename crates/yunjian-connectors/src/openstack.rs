//! OpenStack API responses: Keystone v3 tokens, Nova servers and hypervisors, Neutron
//! networks, subnets, ports, security groups and rules, Cinder volumes, snapshots and
//! backups, Glance images. Field names follow the api-ref samples
//! (`../shared/fixtures/openstack`).

use serde_json::{json, Value as Json};

use crate::{Observed, ObservedKind, ObservedObject, Problem};

/// A Keystone v3 token: the secret comes in the `X-Subject-Token` header, the body says
/// when it expires and where each service is.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub token: String,
    pub expires_at: String,
    pub project: Option<String>,
    pub endpoints: Vec<Endpoint>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Token")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("project", &self.project)
            .field("endpoints", &self.endpoints.len())
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `compute`, `network`, `volumev3`, `image`, `identity`, …
    pub service_type: String,
    pub interface: String,
    pub region: String,
    pub url: String,
}

impl Token {
    /// The URL of a service for an interface (and region, when given).
    pub fn endpoint(
        &self,
        service_type: &str,
        interface: &str,
        region: Option<&str>,
    ) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|endpoint| {
                endpoint.service_type == service_type
                    && endpoint.interface == interface
                    && region.is_none_or(|region| endpoint.region == region)
            })
            .map(|endpoint| endpoint.url.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the response has no X-Subject-Token header")]
    NoToken,
    #[error("the token response is not readable: {0}")]
    Body(String),
}

pub fn parse_token(subject_token: Option<&str>, body: &[u8]) -> Result<Token, TokenError> {
    let token = subject_token
        .filter(|token| !token.trim().is_empty())
        .ok_or(TokenError::NoToken)?;
    let body: Json =
        serde_json::from_slice(body).map_err(|error| TokenError::Body(error.to_string()))?;
    let inner = body
        .get("token")
        .ok_or_else(|| TokenError::Body("no 'token' object".into()))?;
    let expires_at = inner["expires_at"]
        .as_str()
        .ok_or_else(|| TokenError::Body("no 'expires_at'".into()))?
        .to_owned();
    let mut endpoints = Vec::new();
    for service in inner["catalog"].as_array().into_iter().flatten() {
        let service_type = service["type"].as_str().unwrap_or("").to_owned();
        for endpoint in service["endpoints"].as_array().into_iter().flatten() {
            if let (Some(interface), Some(url)) =
                (endpoint["interface"].as_str(), endpoint["url"].as_str())
            {
                endpoints.push(Endpoint {
                    service_type: service_type.clone(),
                    interface: interface.to_owned(),
                    region: endpoint["region_id"]
                        .as_str()
                        .or_else(|| endpoint["region"].as_str())
                        .unwrap_or("")
                        .to_owned(),
                    url: url.trim_end_matches('/').to_owned(),
                });
            }
        }
    }
    Ok(Token {
        token: token.to_owned(),
        expires_at,
        project: inner["project"]["id"].as_str().map(str::to_owned),
        endpoints,
    })
}

/// The list under `key` of a response body, or the problem that stops it being read.
fn list<'a>(source: &'static str, body: &'a Json, key: &str) -> Result<&'a Vec<Json>, Problem> {
    body.get(key)
        .and_then(Json::as_array)
        .ok_or_else(|| Problem {
            source,
            index: None,
            external_id: None,
            reason: format!("the response has no '{key}' list"),
        })
}

/// Parses a body and reads each element of its list with `read`; problems per element.
fn each(
    source: &'static str,
    body: &[u8],
    key: &str,
    read: impl Fn(&Json) -> Result<Vec<ObservedObject>, String>,
) -> Observed {
    let mut observed = Observed::default();
    let body: Json = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(error) => {
            observed.problems.push(Problem {
                source,
                index: None,
                external_id: None,
                reason: format!("not valid JSON: {error}"),
            });
            return observed;
        }
    };
    let items = match list(source, &body, key) {
        Ok(items) => items,
        Err(problem) => {
            observed.problems.push(problem);
            return observed;
        }
    };
    for (index, item) in items.iter().enumerate() {
        match read(item) {
            Ok(objects) => observed.objects.extend(objects),
            Err(reason) => observed.problems.push(Problem {
                source,
                index: Some(index),
                external_id: item.get("id").and_then(Json::as_str).map(str::to_owned),
                reason,
            }),
        }
    }
    observed
}

fn id_of(item: &Json) -> Result<String, String> {
    match item.get("id") {
        Some(Json::String(id)) if !id.trim().is_empty() => Ok(id.clone()),
        Some(Json::Number(number)) => Ok(number.to_string()),
        _ => Err("no 'id'".into()),
    }
}

fn project_of(item: &Json, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|key| item.get(*key).and_then(Json::as_str))
        .filter(|project| !project.is_empty())
        .map(str::to_owned)
}

fn text(item: &Json, key: &str) -> Json {
    item.get(key)
        .and_then(Json::as_str)
        .map_or(Json::Null, |text| json!(text))
}

fn object(
    kind: ObservedKind,
    external_id: String,
    project: Option<String>,
    fields: impl IntoIterator<Item = (&'static str, Json)>,
    references: impl IntoIterator<Item = (&'static str, Option<String>)>,
) -> ObservedObject {
    ObservedObject {
        kind,
        external_id,
        project,
        fields: fields
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .collect(),
        references: references
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| (key, value)))
            .collect(),
    }
}

/// Nova `GET /servers/detail`: VMs with their flavor (embedded since 2.47), image, host
/// (`OS-EXT-SRV-ATTR:host`, admin only), addresses and state.
pub fn parse_servers(body: &[u8]) -> Observed {
    each("nova servers", body, "servers", |item| {
        let id = id_of(item)?;
        let flavor = item.get("flavor").ok_or("no 'flavor'")?;
        let vcpus = flavor["vcpus"].as_i64();
        let memory = flavor["ram"].as_i64();
        let mut addresses = Vec::new();
        for entries in item["addresses"]
            .as_object()
            .into_iter()
            .flat_map(|map| map.values())
        {
            for entry in entries.as_array().into_iter().flatten() {
                if let Some(address) = entry["addr"].as_str() {
                    addresses.push(json!(address));
                }
            }
        }
        // A server booted from a volume has image "" rather than an object.
        let image = item["image"]["id"].as_str().map(str::to_owned);
        Ok(vec![object(
            ObservedKind::Server,
            id,
            project_of(item, &["tenant_id", "project_id"]),
            [
                ("name", text(item, "name")),
                ("status", text(item, "status")),
                ("vcpus", vcpus.map_or(Json::Null, |n| json!(n))),
                ("memory_mib", memory.map_or(Json::Null, |n| json!(n))),
                ("ip_addresses", json!(addresses)),
                (
                    "availability_zone",
                    text(item, "OS-EXT-AZ:availability_zone"),
                ),
            ],
            [
                ("image", image),
                (
                    "host",
                    item["OS-EXT-SRV-ATTR:host"]
                        .as_str()
                        .or_else(|| item["OS-EXT-SRV-ATTR:hypervisor_hostname"].as_str())
                        .map(str::to_owned),
                ),
            ],
        )])
    })
}

/// Nova `GET /os-hypervisors/detail?with_servers=true`: hosts, and which servers each
/// runs (the host of a server when its own record does not say).
pub fn parse_hypervisors(body: &[u8]) -> Observed {
    each("nova hypervisors", body, "hypervisors", |item| {
        let id = id_of(item)?;
        let name = item["hypervisor_hostname"]
            .as_str()
            .ok_or("no 'hypervisor_hostname'")?;
        let servers: Vec<Json> = item["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|server| server["uuid"].as_str().map(|uuid| json!(uuid)))
            .collect();
        Ok(vec![object(
            ObservedKind::Host,
            id,
            None,
            [
                ("name", json!(name)),
                ("state", text(item, "state")),
                ("status", text(item, "status")),
                ("servers", json!(servers)),
                // Before microversion 2.88 the detail says the host's size.
                (
                    "cpu_cores",
                    item["vcpus"].as_i64().map_or(Json::Null, |n| json!(n)),
                ),
                (
                    "memory_gib",
                    item["memory_mb"]
                        .as_i64()
                        .map_or(Json::Null, |mb| json!(mb / 1024)),
                ),
            ],
            [],
        )])
    })
}

/// Neutron `GET /v2.0/networks`.
pub fn parse_networks(body: &[u8]) -> Observed {
    each("neutron networks", body, "networks", |item| {
        Ok(vec![object(
            ObservedKind::Network,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("name", text(item, "name")),
                ("description", text(item, "description")),
                (
                    "external",
                    json!(item["router:external"].as_bool().unwrap_or(false)),
                ),
                ("shared", json!(item["shared"].as_bool().unwrap_or(false))),
                // Where the network is: its zones, else the zones asked for.
                (
                    "availability_zone",
                    item["availability_zones"]
                        .as_array()
                        .and_then(|zones| zones.first())
                        .or_else(|| {
                            item["availability_zone_hints"]
                                .as_array()
                                .and_then(|zones| zones.first())
                        })
                        .cloned()
                        .unwrap_or(Json::Null),
                ),
            ],
            [],
        )])
    })
}

/// Neutron `GET /v2.0/subnets`.
pub fn parse_subnets(body: &[u8]) -> Observed {
    each("neutron subnets", body, "subnets", |item| {
        let cidr = item["cidr"].as_str().ok_or("no 'cidr'")?;
        Ok(vec![object(
            ObservedKind::Subnet,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [("name", text(item, "name")), ("cidr", json!(cidr))],
            [("network", item["network_id"].as_str().map(str::to_owned))],
        )])
    })
}

/// Neutron `GET /v2.0/ports`: which server (`device_id` of a `compute:*` owner), which
/// subnet and address, and `binding:host_id` (admin only).
pub fn parse_ports(body: &[u8]) -> Observed {
    each("neutron ports", body, "ports", |item| {
        let owner = item["device_owner"].as_str().unwrap_or("");
        let device = || item["device_id"].as_str().map(str::to_owned);
        let server = owner.starts_with("compute:").then(device).flatten();
        // A router's interface on a tenant network (plain, distributed or HA).
        let router = matches!(
            owner,
            "network:router_interface"
                | "network:router_interface_distributed"
                | "network:ha_router_replicated_interface"
        )
        .then(device)
        .flatten();
        let first_ip = item["fixed_ips"].as_array().and_then(|ips| ips.first());
        let groups: Vec<Json> = item["security_groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(vec![object(
            ObservedKind::Port,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("device_owner", json!(owner)),
                (
                    "ip_address",
                    first_ip.map_or(Json::Null, |ip| text(ip, "ip_address")),
                ),
                ("security_groups", json!(groups)),
                (
                    "port_security_enabled",
                    json!(item["port_security_enabled"].as_bool().unwrap_or(true)),
                ),
            ],
            [
                ("server", server),
                ("router", router),
                ("network", item["network_id"].as_str().map(str::to_owned)),
                (
                    "subnet",
                    first_ip
                        .and_then(|ip| ip["subnet_id"].as_str())
                        .map(str::to_owned),
                ),
                (
                    "host",
                    item["binding:host_id"]
                        .as_str()
                        .filter(|host| !host.is_empty())
                        .map(str::to_owned),
                ),
            ],
        )])
    })
}

/// Neutron `GET /v2.0/routers`: the external gateway (with or without source NAT) and
/// extra routes; which networks a router joins comes from its interface ports.
pub fn parse_routers(body: &[u8]) -> Observed {
    each("neutron routers", body, "routers", |item| {
        let gateway = item
            .get("external_gateway_info")
            .filter(|info| info.is_object());
        let mut routes = Vec::new();
        for route in item["routes"].as_array().into_iter().flatten() {
            match (route["destination"].as_str(), route["nexthop"].as_str()) {
                (Some(destination), Some(nexthop)) => {
                    routes.push(json!({"destination": destination, "nexthop": nexthop}))
                }
                _ => return Err("a route without 'destination' or 'nexthop'".into()),
            }
        }
        Ok(vec![object(
            ObservedKind::Router,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("name", text(item, "name")),
                (
                    "admin_state_up",
                    json!(item["admin_state_up"].as_bool().unwrap_or(true)),
                ),
                ("external_gateway", json!(gateway.is_some())),
                (
                    "enable_snat",
                    json!(gateway
                        .and_then(|info| info["enable_snat"].as_bool())
                        .unwrap_or(true)),
                ),
                ("routes", Json::Array(routes)),
            ],
            [],
        )])
    })
}

/// FWaaS v2 `GET /v2.0/fwaas/firewall_groups`: the policies a group applies to its ports.
pub fn parse_firewall_groups(body: &[u8]) -> Observed {
    each("neutron firewall groups", body, "firewall_groups", |item| {
        let ports: Vec<Json> = item["ports"].as_array().cloned().unwrap_or_default();
        Ok(vec![object(
            ObservedKind::FirewallGroup,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("name", text(item, "name")),
                (
                    "admin_state_up",
                    json!(item["admin_state_up"].as_bool().unwrap_or(true)),
                ),
                ("ports", json!(ports)),
            ],
            [
                (
                    "ingress_policy",
                    item["ingress_firewall_policy_id"]
                        .as_str()
                        .map(str::to_owned),
                ),
                (
                    "egress_policy",
                    item["egress_firewall_policy_id"]
                        .as_str()
                        .map(str::to_owned),
                ),
            ],
        )])
    })
}

/// FWaaS v2 `GET /v2.0/fwaas/firewall_policies`: rules in evaluation order.
pub fn parse_firewall_policies(body: &[u8]) -> Observed {
    each(
        "neutron firewall policies",
        body,
        "firewall_policies",
        |item| {
            let mut rules = Vec::new();
            for rule in item["firewall_rules"].as_array().into_iter().flatten() {
                match rule.as_str() {
                    Some(rule) => rules.push(json!(rule)),
                    None => return Err("a rule id that is not a string".into()),
                }
            }
            Ok(vec![object(
                ObservedKind::FirewallPolicy,
                id_of(item)?,
                project_of(item, &["project_id", "tenant_id"]),
                [("name", text(item, "name")), ("rules", Json::Array(rules))],
                [],
            )])
        },
    )
}

/// FWaaS v2 `GET /v2.0/fwaas/firewall_rules`, in the world schema's terms: `reject`
/// is a deny, a null protocol any; addresses and ports stay as Neutron writes them
/// (`10.0.0.1` or a CIDR; `80` or `80:90`) for the translation to read.
pub fn parse_firewall_rules(body: &[u8]) -> Observed {
    each("neutron firewall rules", body, "firewall_rules", |item| {
        let action = match item["action"].as_str() {
            Some("allow") => "allow",
            Some("deny" | "reject") => "deny",
            other => return Err(format!("action {other:?} is not allow, deny or reject")),
        };
        let protocol = match item["protocol"].as_str() {
            None | Some("any") => "any",
            Some("tcp" | "6") => "tcp",
            Some("udp" | "17") => "udp",
            Some("icmp" | "1") => "icmp",
            Some(other) => return Err(format!("protocol {other} is not tcp, udp or icmp")),
        };
        let port = |key: &str| match &item[key] {
            Json::String(text) => json!(text),
            Json::Number(number) => json!(number.to_string()),
            _ => Json::Null,
        };
        Ok(vec![object(
            ObservedKind::FirewallRule,
            id_of(item)?,
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("name", text(item, "name")),
                ("description", text(item, "description")),
                ("action", json!(action)),
                ("protocol", json!(protocol)),
                ("enabled", json!(item["enabled"].as_bool().unwrap_or(true))),
                (
                    "ip_version",
                    json!(item["ip_version"].as_i64().unwrap_or(4)),
                ),
                ("source", text(item, "source_ip_address")),
                ("destination", text(item, "destination_ip_address")),
                ("source_port", port("source_port")),
                ("destination_port", port("destination_port")),
            ],
            [],
        )])
    })
}

/// One Neutron security group rule, in the world schema's terms: Neutron rules are
/// stateful allows without priorities; `protocol` null is any, ports null are all.
fn rule(item: &Json) -> Result<ObservedObject, String> {
    let direction = match item["direction"].as_str() {
        Some(direction @ ("ingress" | "egress")) => direction,
        other => return Err(format!("direction {other:?} is neither ingress nor egress")),
    };
    let protocol = match item["protocol"].as_str() {
        None | Some("any") => "any",
        Some("tcp" | "6") => "tcp",
        Some("udp" | "17") => "udp",
        Some("icmp" | "1" | "ipv6-icmp" | "58") => "icmp",
        Some(other) => other,
    };
    let port = |key: &str| item[key].as_i64().map_or(Json::Null, |port| json!(port));
    Ok(object(
        ObservedKind::SecurityGroupRule,
        id_of(item)?,
        project_of(item, &["project_id", "tenant_id"]),
        [
            ("direction", json!(direction)),
            ("action", json!("allow")),
            ("protocol", json!(protocol)),
            ("ethertype", text(item, "ethertype")),
            ("port_from", port("port_range_min")),
            ("port_to", port("port_range_max")),
            ("remote_cidr", text(item, "remote_ip_prefix")),
            ("description", text(item, "description")),
            (
                "remote_address_group",
                text(item, "remote_address_group_id"),
            ),
        ],
        [
            (
                "security_group",
                item["security_group_id"].as_str().map(str::to_owned),
            ),
            (
                "remote_group",
                item["remote_group_id"].as_str().map(str::to_owned),
            ),
        ],
    ))
}

/// Neutron `GET /v2.0/security-groups` (with their rules inline).
pub fn parse_security_groups(body: &[u8]) -> Observed {
    each("neutron security groups", body, "security_groups", |item| {
        let id = id_of(item)?;
        let mut objects = vec![object(
            ObservedKind::SecurityGroup,
            id.clone(),
            project_of(item, &["project_id", "tenant_id"]),
            [
                ("name", text(item, "name")),
                ("description", text(item, "description")),
                (
                    "stateful",
                    json!(item["stateful"].as_bool().unwrap_or(true)),
                ),
            ],
            [],
        )];
        for inner in item["security_group_rules"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let mut found = rule(inner).map_err(|reason| format!("a rule: {reason}"))?;
            found
                .references
                .entry("security_group")
                .or_insert_with(|| id.clone());
            objects.push(found);
        }
        Ok(objects)
    })
}

/// Neutron `GET /v2.0/security-group-rules`.
pub fn parse_security_group_rules(body: &[u8]) -> Observed {
    each(
        "neutron security group rules",
        body,
        "security_group_rules",
        |item| rule(item).map(|found| vec![found]),
    )
}

/// Cinder `GET /v3/{project}/volumes/detail`.
pub fn parse_volumes(body: &[u8]) -> Observed {
    each("cinder volumes", body, "volumes", |item| {
        let size = item["size"].as_i64().ok_or("no 'size'")?;
        let server = item["attachments"]
            .as_array()
            .and_then(|attachments| attachments.first())
            .and_then(|attachment| attachment["server_id"].as_str())
            .map(str::to_owned);
        Ok(vec![object(
            ObservedKind::Volume,
            id_of(item)?,
            project_of(item, &["os-vol-tenant-attr:tenant_id", "project_id"]),
            [
                ("name", text(item, "name")),
                ("size_gib", json!(size)),
                (
                    "encrypted",
                    json!(item["encrypted"].as_bool().unwrap_or(false)),
                ),
                ("status", text(item, "status")),
                ("availability_zone", text(item, "availability_zone")),
            ],
            [("server", server)],
        )])
    })
}

/// Cinder `GET /v3/{project}/snapshots/detail`.
pub fn parse_snapshots(body: &[u8]) -> Observed {
    each("cinder snapshots", body, "snapshots", |item| {
        let size = item["size"].as_i64().ok_or("no 'size'")?;
        Ok(vec![object(
            ObservedKind::Snapshot,
            id_of(item)?,
            project_of(
                item,
                &["os-extended-snapshot-attributes:project_id", "project_id"],
            ),
            [
                ("name", text(item, "name")),
                ("size_gib", json!(size)),
                ("status", text(item, "status")),
            ],
            [("volume", item["volume_id"].as_str().map(str::to_owned))],
        )])
    })
}

/// Cinder `GET /v3/{project}/backups/detail`: where each backup is kept (7.2.5.4).
pub fn parse_backups(body: &[u8]) -> Observed {
    each("cinder backups", body, "backups", |item| {
        Ok(vec![object(
            ObservedKind::Backup,
            id_of(item)?,
            project_of(item, &["os-backup-project-attr:project_id", "project_id"]),
            [
                ("name", text(item, "name")),
                ("status", text(item, "status")),
                ("availability_zone", text(item, "availability_zone")),
                ("container", text(item, "container")),
                (
                    "incremental",
                    json!(item["is_incremental"].as_bool().unwrap_or(false)),
                ),
            ],
            [("volume", item["volume_id"].as_str().map(str::to_owned))],
        )])
    })
}

/// Glance `GET /v2/images`: the provider's own hash (`os_hash_algo`, `os_hash_value`;
/// the MD5 `checksum` of old images) is the digest the registry compares (7.5.7).
pub fn parse_images(body: &[u8]) -> Observed {
    each("glance images", body, "images", image)
}

/// Glance `GET /v2/images/{id}`: one image, not a list.
pub fn parse_image(body: &[u8]) -> Observed {
    let mut observed = Observed::default();
    match serde_json::from_slice::<Json>(body) {
        Ok(item) => match image(&item) {
            Ok(objects) => observed.objects.extend(objects),
            Err(reason) => observed.problems.push(Problem {
                source: "glance image",
                index: None,
                external_id: item.get("id").and_then(Json::as_str).map(str::to_owned),
                reason,
            }),
        },
        Err(error) => observed.problems.push(Problem {
            source: "glance image",
            index: None,
            external_id: None,
            reason: format!("not valid JSON: {error}"),
        }),
    }
    observed
}

fn image(item: &Json) -> Result<Vec<ObservedObject>, String> {
    let id = id_of(item)?;
    let digest = match (
        item["os_hash_algo"].as_str(),
        item["os_hash_value"].as_str(),
    ) {
        (Some(algo), Some(value)) if !value.is_empty() => json!(format!("{algo}:{value}")),
        _ => item["checksum"]
            .as_str()
            .map_or(Json::Null, |md5| json!(format!("md5:{md5}"))),
    };
    Ok(vec![object(
        ObservedKind::Image,
        id,
        project_of(item, &["owner"]),
        [
            ("name", text(item, "name")),
            ("visibility", text(item, "visibility")),
            ("status", text(item, "status")),
            // The common image properties name the operating system.
            (
                "os",
                match (item["os_distro"].as_str(), item["os_version"].as_str()) {
                    (Some(distro), Some(version)) => json!(format!("{distro} {version}")),
                    (Some(distro), None) => json!(distro),
                    _ => Json::Null,
                },
            ),
            ("disk_format", text(item, "disk_format")),
            ("digest", digest),
            (
                "size_bytes",
                item["size"].as_i64().map_or(Json::Null, |n| json!(n)),
            ),
        ],
        [],
    )])
}

/// Nova `GET /os-availability-zone/detail`: which availability zone each compute host
/// is in (hosts are named as servers and ports name them).
pub fn parse_availability_zones(
    body: &[u8],
) -> Result<std::collections::BTreeMap<String, String>, Problem> {
    let problem = |reason: String| Problem {
        source: "nova availability zones",
        index: None,
        external_id: None,
        reason,
    };
    let json: Json = serde_json::from_slice(body)
        .map_err(|error| problem(format!("not valid JSON: {error}")))?;
    let zones = json["availabilityZoneInfo"]
        .as_array()
        .ok_or_else(|| problem("no 'availabilityZoneInfo' list".into()))?;
    let mut hosts = std::collections::BTreeMap::new();
    for zone in zones {
        let Some(name) = zone["zoneName"].as_str() else {
            continue;
        };
        // The internal zone lists the control services, not compute hosts.
        if name == "internal" {
            continue;
        }
        for (host, services) in zone["hosts"].as_object().into_iter().flatten() {
            if services.get("nova-compute").is_some() {
                hosts.insert(host.clone(), name.to_owned());
            }
        }
    }
    Ok(hosts)
}
