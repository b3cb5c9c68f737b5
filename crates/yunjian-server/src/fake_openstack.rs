//! A small OpenStack for the demo (a test double of a provider's platform, not part of
//! yunjian's own HTTP surface): Keystone v3 password sign-in with a
//! catalog pointing at itself, and the Nova, Neutron, Cinder and Glance lists yunjian's
//! connector reads, rendered from a provider's objects in the standard API's form (the
//! demo world's provider, as `yunjian simulate` would push it). The answers have the
//! shapes of the api-ref samples (`../shared/fixtures/openstack`).
//!
//! What OpenStack cannot say is not said: Neutron security group rules are allows
//! without order, so deny rules are not rendered (Neutron denies what no rule allows).
//! This cloud has neither the L3 router nor the FWaaS extension (both answer 404), so
//! the peerings, routes and firewall rules recorded for its provider stay as they are;
//! where things are is said by availability zones, which [`settings`] maps back to
//! yunjian's zones and datacenters for the connector.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value as Jv};

/// The cloud: its objects (replaceable while serving) and its one user's password.
pub struct FakeCloud {
    pub objects: RwLock<Vec<Jv>>,
    pub password: String,
    base: RwLock<String>,
    token: String,
}

impl FakeCloud {
    pub fn new(objects: Vec<Jv>, password: &str) -> Arc<FakeCloud> {
        Arc::new(FakeCloud {
            objects: RwLock::new(objects),
            password: password.to_owned(),
            base: RwLock::new(String::new()),
            token: format!("gAAAAA{}", yunjian_gm::random_secret_hex(16)),
        })
    }
}

fn field<'a>(object: &'a Jv, name: &str) -> &'a Jv {
    &object["fields"][name]
}

fn text<'a>(object: &'a Jv, name: &str) -> &'a str {
    field(object, name).as_str().unwrap_or("")
}

fn host_zone(host: &Jv) -> String {
    format!(
        "az-{}-{}",
        text(host, "datacenter_id"),
        text(host, "zone_id")
    )
}

fn network_zone(zone: &str) -> String {
    format!("net-{zone}")
}

fn backup_zone(backup: &Jv) -> String {
    format!(
        "backup-{}-{}",
        text(backup, "datacenter_id"),
        text(backup, "backup_kind")
    )
}

/// The connector settings that place this cloud's availability zones in yunjian's
/// zones and datacenters.
pub fn settings(objects: &[Jv], username: &str) -> Map<String, Jv> {
    let of = |kind: &'static str| objects.iter().filter(move |object| object["kind"] == kind);
    let mut zones: BTreeMap<String, Jv> = BTreeMap::new();
    for host in of("host") {
        zones.insert(
            host_zone(host),
            json!({"zone": text(host, "zone_id"), "datacenter_id": text(host, "datacenter_id")}),
        );
    }
    for vpc in of("vpc") {
        zones.insert(
            network_zone(text(vpc, "zone_id")),
            json!({"zone": text(vpc, "zone_id")}),
        );
    }
    for backup in of("backup") {
        zones.insert(
            backup_zone(backup),
            json!({"datacenter_id": text(backup, "datacenter_id"), "backup_kind": text(backup, "backup_kind")}),
        );
    }
    let datacenters: Map<String, Jv> = of("datacenter")
        .map(|dc| {
            (
                dc["id"].as_str().unwrap_or("").to_owned(),
                dc["fields"].clone(),
            )
        })
        .collect();
    let first_zone = of("vpc")
        .next()
        .map(|vpc| text(vpc, "zone_id"))
        .unwrap_or("")
        .to_owned();
    let first_dc = datacenters.keys().next().cloned().unwrap_or_default();
    let mut settings = Map::new();
    settings.insert("username".into(), json!(username));
    settings.insert("project".into(), json!("admin"));
    settings.insert("zone".into(), json!(first_zone));
    settings.insert("datacenter_id".into(), json!(first_dc));
    settings.insert("datacenters".into(), Jv::Object(datacenters));
    settings.insert("availability_zones".into(), json!(zones));
    settings
}

async fn token(State(cloud): State<Arc<FakeCloud>>, body: String) -> Response {
    let request: Jv = serde_json::from_str(&body).unwrap_or(Jv::Null);
    if request["auth"]["identity"]["password"]["user"]["password"] != cloud.password.as_str() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "title": "Unauthorized"}})),
        )
            .into_response();
    }
    let base = cloud
        .base
        .read()
        .map(|base| base.clone())
        .unwrap_or_default();
    let catalog: Vec<Jv> = [("compute", "nova"), ("network", "neutron"), ("volumev3", "cinderv3"), ("image", "glance")]
        .iter()
        .map(|(kind, name)| {
            let path = match *kind {
                "volumev3" => "volume",
                other => other,
            };
            json!({"type": kind, "name": name, "id": name, "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "id": format!("{name}-public"),
                 "url": format!("{base}/{path}")}
            ]})
        })
        .collect();
    let answer = json!({"token": {
        "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
        "project": {"id": "admin", "name": "admin", "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "admin", "name": "admin"}], "catalog": catalog,
    }});
    let mut headers = HeaderMap::new();
    if let Ok(value) = cloud.token.parse() {
        headers.insert("x-subject-token", value);
    }
    (StatusCode::CREATED, headers, Json(answer)).into_response()
}

/// Renders one list from the current objects.
fn render(objects: &[Jv], path: &str) -> Option<Jv> {
    let of = |kind: &'static str| objects.iter().filter(move |object| object["kind"] == kind);
    let by_id: HashMap<(&str, &str), &Jv> = objects
        .iter()
        .map(|object| {
            (
                (
                    object["kind"].as_str().unwrap_or(""),
                    object["id"].as_str().unwrap_or(""),
                ),
                object,
            )
        })
        .collect();
    let project_of_vpc = |vpc: &str| {
        by_id
            .get(&("vpc", vpc))
            .and_then(|vpc| vpc["project"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    let host_name = |host: &str| {
        by_id
            .get(&("host", host))
            .map(|host| text(host, "name").to_owned())
    };
    Some(match path {
        "compute/os-hypervisors/detail" => json!({"hypervisors": of("host").map(|host| {
            let id = host["id"].as_str().unwrap_or("");
            let servers: Vec<Jv> = of("vm").filter(|vm| text(vm, "host_id") == id)
                .map(|vm| json!({"uuid": vm["id"], "name": field(vm, "name")})).collect();
            let mut hypervisor = json!({"id": id, "hypervisor_hostname": field(host, "name"), "state": "up",
                                        "status": "enabled", "servers": servers});
            if let Some(cores) = field(host, "cpu_cores").as_i64() {
                hypervisor["vcpus"] = json!(cores);
            }
            if let Some(memory) = field(host, "memory_gib").as_i64() {
                hypervisor["memory_mb"] = json!(memory * 1024);
            }
            hypervisor
        }).collect::<Vec<_>>()}),
        "compute/os-availability-zone/detail" => {
            let mut zones: BTreeMap<String, Map<String, Jv>> = BTreeMap::new();
            for host in of("host") {
                zones.entry(host_zone(host)).or_default().insert(
                    text(host, "name").to_owned(),
                    json!({"nova-compute": {"available": true, "active": true, "updated_at": null}}),
                );
            }
            json!({"availabilityZoneInfo": zones.into_iter().map(|(name, hosts)| json!({
                "zoneName": name, "zoneState": {"available": true}, "hosts": hosts,
            })).collect::<Vec<_>>()})
        }
        "compute/servers/detail" => json!({"servers": of("vm").map(|vm| {
            let vpc = text(vm, "vpc_id");
            let network = by_id.get(&("vpc", vpc)).map(|vpc| text(vpc, "name")).unwrap_or("");
            let addresses: Vec<Jv> = field(vm, "ip_addresses").as_array().into_iter().flatten()
                .map(|ip| json!({"addr": ip, "version": 4, "OS-EXT-IPS:type": "fixed"})).collect();
            let host = host_name(text(vm, "host_id"));
            let zone = by_id.get(&("host", text(vm, "host_id"))).map(|host| host_zone(host));
            let image = match field(vm, "image_id").as_str() {
                Some(image) => json!({"id": image, "links": []}),
                None => json!(""),
            };
            json!({
                "id": vm["id"], "name": field(vm, "name"),
                "status": if text(vm, "status") == "running" { "ACTIVE" } else { "SHUTOFF" },
                "tenant_id": project_of_vpc(vpc), "user_id": "provisioner",
                "flavor": {"vcpus": field(vm, "vcpus"), "ram": field(vm, "memory_mib"), "disk": 0,
                           "ephemeral": 0, "swap": 0, "original_name": "custom", "extra_specs": {}},
                "image": image, "addresses": {network: addresses},
                "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
                "OS-EXT-AZ:availability_zone": zone,
            })
        }).collect::<Vec<_>>()}),
        "network/v2.0/networks" => json!({"networks": of("vpc").map(|vpc| {
            let id = vpc["id"].as_str().unwrap_or("");
            let subnets: Vec<Jv> = of("subnet").filter(|subnet| text(subnet, "vpc_id") == id)
                .map(|subnet| subnet["id"].clone()).collect();
            json!({"id": id, "name": field(vpc, "name"), "description": field(vpc, "description"),
                   "project_id": vpc["project"], "tenant_id": vpc["project"], "router:external": false,
                   "shared": false, "status": "ACTIVE", "subnets": subnets,
                   "availability_zone_hints": [network_zone(text(vpc, "zone_id"))],
                   "availability_zones": [network_zone(text(vpc, "zone_id"))]})
        }).collect::<Vec<_>>()}),
        "network/v2.0/subnets" => json!({"subnets": of("subnet").map(|subnet| json!({
            "id": subnet["id"], "name": field(subnet, "name"), "network_id": field(subnet, "vpc_id"),
            "cidr": field(subnet, "cidr"), "ip_version": 4, "project_id": project_of_vpc(text(subnet, "vpc_id")),
        })).collect::<Vec<_>>()}),
        // Each VM's port with its own groups; and each network's DHCP port, carrying
        // every group of the network so that groups no VM uses are placed in it too
        // (Neutron groups belong to projects, not networks).
        "network/v2.0/ports" => json!({"ports": of("vpc").map(|vpc| {
            let id = vpc["id"].as_str().unwrap_or("");
            let groups: Vec<Jv> = of("security_group").filter(|group| text(group, "vpc_id") == id)
                .map(|group| group["id"].clone()).collect();
            json!({"id": format!("dhcp-{id}"), "network_id": id, "device_owner": "network:dhcp",
                   "device_id": format!("dhcp-{id}"), "fixed_ips": [], "security_groups": groups,
                   "project_id": vpc["project"], "status": "ACTIVE"})
        }).chain(of("vm").map(|vm| {
            let vpc = text(vm, "vpc_id");
            let mut fixed = json!({"subnet_id": field(vm, "subnet_id")});
            if let Some(ip) = field(vm, "ip_addresses").as_array().and_then(|ips| ips.first()) {
                fixed["ip_address"] = ip.clone();
            }
            json!({"id": format!("port-{}", vm["id"].as_str().unwrap_or("")), "network_id": vpc,
                   "device_owner": "compute:nova", "device_id": vm["id"], "fixed_ips": [fixed],
                   "binding:host_id": host_name(text(vm, "host_id")),
                   "security_groups": field(vm, "security_group_ids").as_array().cloned().unwrap_or_default(),
                   "project_id": project_of_vpc(vpc), "status": "ACTIVE"})
        })).collect::<Vec<_>>()}),
        "network/v2.0/security-groups" => {
            json!({"security_groups": of("security_group").map(|group| {
            let id = group["id"].as_str().unwrap_or("");
            let rules: Vec<Jv> = of("security_group_rule")
                .filter(|rule| text(rule, "security_group_id") == id && text(rule, "action") == "allow")
                .map(|rule| json!({
                    "id": rule["id"], "security_group_id": id, "direction": field(rule, "direction"),
                    "ethertype": "IPv4",
                    "protocol": match text(rule, "protocol") { "any" => Jv::Null, other => json!(other) },
                    "port_range_min": field(rule, "port_from"), "port_range_max": field(rule, "port_to"),
                    "remote_ip_prefix": field(rule, "remote_cidr"), "remote_group_id": field(rule, "remote_group_id"),
                    "description": field(rule, "description"), "project_id": project_of_vpc(text(group, "vpc_id")),
                }))
                .collect();
            json!({"id": id, "name": field(group, "name"), "description": field(group, "description"),
                   "project_id": project_of_vpc(text(group, "vpc_id")), "stateful": true,
                   "security_group_rules": rules})
        }).collect::<Vec<_>>()})
        }
        "network/v2.0/security-group-rules" => json!({"security_group_rules": []}),
        "volume/volumes/detail" => json!({"volumes": of("volume").map(|volume| {
            let attachments: Vec<Jv> = field(volume, "vm_id").as_str().map(|vm| json!({"server_id": vm, "id": volume["id"]}))
                .into_iter().collect();
            json!({"id": volume["id"], "name": field(volume, "name"), "size": field(volume, "size_gib"),
                   "encrypted": field(volume, "encrypted").as_bool().unwrap_or(false), "status": "in-use",
                   "attachments": attachments, "os-vol-tenant-attr:tenant_id": volume["project"]})
        }).collect::<Vec<_>>()}),
        "volume/snapshots/detail" => json!({"snapshots": of("snapshot").map(|snapshot| json!({
            "id": snapshot["id"], "name": field(snapshot, "name"), "size": field(snapshot, "size_gib"),
            "volume_id": field(snapshot, "volume_id"), "status": "available",
        })).collect::<Vec<_>>()}),
        "volume/backups/detail" => json!({"backups": of("backup").map(|backup| json!({
            "id": backup["id"], "name": field(backup, "name"), "volume_id": field(backup, "volume_id"),
            "status": "available", "availability_zone": backup_zone(backup), "container": "backups",
            "os-backup-project-attr:project_id": backup["project"],
        })).collect::<Vec<_>>()}),
        "image/v2/images" => json!({"images": of("image").map(|image| {
            let digest = text(image, "digest");
            let (algorithm, value) = digest.split_once(':').unwrap_or(("", ""));
            json!({"id": image["id"], "name": field(image, "name"), "os_distro": field(image, "os"),
                   "visibility": field(image, "visibility"), "owner": image["project"], "status": "active",
                   "os_hash_algo": algorithm, "os_hash_value": value, "disk_format": "qcow2"})
        }).collect::<Vec<_>>(), "first": "/v2/images", "schema": "/v2/schemas/images"}),
        _ => return None,
    })
}

async fn list(
    State(cloud): State<Arc<FakeCloud>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    if headers
        .get("x-auth-token")
        .and_then(|value| value.to_str().ok())
        != Some(cloud.token.as_str())
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let answer = match cloud.objects.read() {
        Ok(objects) => render(&objects, &path),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match answer {
        Some(body) => Json(body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves the cloud until the task is dropped; answers its base URL (Keystone is at
/// `{base}/identity/v3`).
pub async fn serve(
    cloud: Arc<FakeCloud>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<String> {
    let base = format!("http://{}", listener.local_addr()?);
    if let Ok(mut slot) = cloud.base.write() {
        *slot = base.clone();
    }
    let router = Router::new()
        .route("/identity/v3/auth/tokens", post(token))
        .route("/{*path}", get(list))
        .with_state(cloud);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(base)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use yunjian_connectors::fetch::{self, Limits, OpenStackCredentials};
    use yunjian_connectors::sync::{self, Current, Existing, Mode};
    use yunjian_connectors::translate;
    use yunjian_core::demo::{generate, project_of, Scale};
    use yunjian_core::schema::Kind;
    use yunjian_core::value::Value;

    use super::*;

    /// The demo provider served as OpenStack, pulled, translated and planned against the
    /// demo's own rows: nothing changes but what OpenStack cannot say (deny rules).
    #[tokio::test]
    async fn the_demo_provider_pulled_from_openstack_changes_nothing_it_can_express() {
        let world = generate(Scale::Small, 20_261_123);
        let provider = world.providers[1].id;
        let objects = sync::demo_provider_objects(&world, provider);
        let cloud = FakeCloud::new(objects.clone(), "demo-password");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = serve(cloud, listener).await.expect("serve");
        let limits = Limits::default();
        let client = fetch::client(&limits).expect("client");
        let credentials = OpenStackCredentials {
            auth_url: format!("{base}/identity/v3"),
            username: "yunjian".into(),
            password: "demo-password".into(),
            user_domain: "Default".into(),
            project: "admin".into(),
            project_domain: "Default".into(),
            region: None,
            interface: "public".into(),
        };
        let observed = fetch::pull_openstack(&client, &credentials, &limits)
            .await
            .expect("pull");
        assert!(
            observed.problems.is_empty(),
            "{:?}",
            &observed.problems[..observed.problems.len().min(3)]
        );
        let settings = settings(&objects, "yunjian");
        let placement = translate::Placement {
            zone: settings["zone"].as_str().expect("zone").to_owned(),
            datacenter_id: settings["datacenter_id"].as_str().expect("dc").to_owned(),
            datacenters: settings["datacenters"]
                .as_object()
                .expect("dcs")
                .iter()
                .map(|(id, fields)| (id.clone(), fields.as_object().expect("fields").clone()))
                .collect(),
            availability_zones: settings["availability_zones"]
                .as_object()
                .expect("azs")
                .iter()
                .map(|(name, entry)| {
                    let text = |key: &str| entry[key].as_str().map(str::to_owned);
                    (
                        name.clone(),
                        translate::ZonePlacement {
                            zone: text("zone"),
                            datacenter_id: text("datacenter_id"),
                            backup_kind: text("backup_kind"),
                        },
                    )
                })
                .collect(),
            backup_kind: "local".into(),
        };
        let translated = translate::openstack(&observed, &placement);
        assert!(
            translated.problems.is_empty(),
            "{:?}",
            &translated.problems[..translated.problems.len().min(5)]
        );
        let rows: Vec<Existing> = sync::demo_rows(&world)
            .into_iter()
            .filter(|(kind, _, values)| {
                sync::PUSHED_KINDS.contains(kind)
                    && values.get("provider_id").and_then(Value::as_int) == Some(provider)
                    && values.get("external_id").is_some()
            })
            .map(|(kind, id, values)| Existing {
                id,
                revision: 1,
                kind,
                external_id: values["external_id"].as_text().expect("id").to_owned(),
                values: values.clone(),
            })
            .collect();
        let zones = world
            .rows(Kind::Zone)
            .rows
            .iter()
            .map(|(id, values)| (values["name"].as_text().expect("name").to_owned(), *id))
            .collect();
        let mut projects = HashMap::new();
        for (_, _, values) in sync::demo_rows(&world) {
            if let Some(tenant) = values.get("tenant_id").and_then(Value::as_int) {
                projects.insert(project_of(tenant), tenant);
            }
        }
        let current = Current {
            provider_id: provider,
            rows,
            zones,
            projects,
        };
        let plan = sync::plan(
            &current,
            Mode::Full,
            &translated.objects,
            &translated.coverage(),
        )
        .unwrap_or_else(|problems| panic!("{:?}", &problems[..problems.len().min(5)]));
        assert!(plan.creates.is_empty(), "{:?}", plan.creates.first());
        assert!(
            plan.updates.is_empty(),
            "{:?}",
            plan.updates
                .first()
                .map(|update| (&update.kind, &update.changes))
        );
        assert!(plan.unassigned.is_empty());
        // Only the deny rules, which Neutron has no way to say, are gone.
        assert!(!plan.deletes.is_empty());
        assert!(plan
            .deletes
            .iter()
            .all(|delete| delete.kind == Kind::SecurityGroupRule
                && delete.values.get("action").and_then(Value::as_text) == Some("deny")));
    }
}
