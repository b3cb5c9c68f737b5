//! Observed OpenStack objects in the standard API's terms: the objects a provider would
//! push (docs/provider-api.md), so a pulled inventory goes through the same plan and
//! commit as a pushed one. Pure.
//!
//! OpenStack and yunjian's world differ in places, and each difference is decided here
//! (docs/decisions/0011-provider-sync.md): a Neutron network is a VPC and its CIDRs are
//! its subnets'; external networks are the platform's, not a tenant's, and are skipped
//! with a note; a security group belongs to the network of the ports that use it (else
//! its project's first network; used in several, copied into each); a VM's subnet comes
//! from its ports or else from the subnet of its project whose CIDR holds its address;
//! its host from the server record,
//! its ports' bindings or the hypervisors' server lists, in that order; its security
//! groups from its ports (a port with port security off is open: an allow-all group
//! stands for it). A router joining networks is a peering between each two of them
//! with routes to each other's subnets; its external gateway a default route (through
//! NAT when it translates sources); its extra routes go to an address the model does
//! not hold. FWaaS v2 rules become the firewall rules of the project whose firewall
//! groups apply them, ingress policy before egress, in each policy's order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use serde_json::{json, Map, Value as Json};

use crate::sync::{self, PushedObject};
use crate::{Observed, ObservedKind, ObservedObject, Problem};
use yunjian_core::schema::Kind;

/// Where an availability zone is, in yunjian's terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZonePlacement {
    /// The zone (by name) of networks and hosts in it.
    pub zone: Option<String>,
    /// The datacenter of hosts and backups in it.
    pub datacenter_id: Option<String>,
    /// The kind of backups kept in it (`local`, `same_city`, `remote`).
    pub backup_kind: Option<String>,
}

/// What the platform's connector configuration says about where its objects live.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    /// The zone (by name) of whatever no availability zone places.
    pub zone: String,
    /// The datacenter of whatever no availability zone places.
    pub datacenter_id: String,
    /// Every datacenter the platform runs in, with its fields as a pushed object's
    /// (`name`, `address`, `latitude`, `longitude`, `datum`, …).
    pub datacenters: Vec<(String, Map<String, Json>)>,
    /// The platform's availability zones.
    pub availability_zones: BTreeMap<String, ZonePlacement>,
    /// The kind of backups no availability zone places.
    pub backup_kind: String,
}

impl Placement {
    fn zone_of(&self, availability_zone: Option<&str>) -> &str {
        availability_zone
            .and_then(|name| self.availability_zones.get(name))
            .and_then(|placement| placement.zone.as_deref())
            .unwrap_or(&self.zone)
    }

    fn datacenter_of(&self, availability_zone: Option<&str>) -> &str {
        availability_zone
            .and_then(|name| self.availability_zones.get(name))
            .and_then(|placement| placement.datacenter_id.as_deref())
            .unwrap_or(&self.datacenter_id)
    }

    fn backup_kind_of(&self, availability_zone: Option<&str>) -> &str {
        availability_zone
            .and_then(|name| self.availability_zones.get(name))
            .and_then(|placement| placement.backup_kind.as_deref())
            .unwrap_or(&self.backup_kind)
    }
}

/// The pulled inventory, ready to plan: objects, the problems met (each object's,
/// never the whole sync's), and the ids of objects that could not be read, which a
/// full snapshot must not take for deleted.
#[derive(Clone, Debug, Default)]
pub struct Translated {
    pub objects: Vec<PushedObject>,
    pub problems: Vec<Problem>,
    pub unreadable: HashSet<(Kind, String)>,
    /// The kinds the source reports in full.
    pub kinds: Vec<Kind>,
}

/// What an OpenStack pull speaks for: everything but databases and middleware (Trove
/// and its kin are not read).
pub const OPENSTACK_KINDS: [Kind; 11] = [
    Kind::Datacenter,
    Kind::Host,
    Kind::Image,
    Kind::Vpc,
    Kind::Subnet,
    Kind::SecurityGroup,
    Kind::SecurityGroupRule,
    Kind::Vm,
    Kind::Volume,
    Kind::Snapshot,
    Kind::Backup,
];

impl Translated {
    pub fn coverage(&self) -> sync::Coverage {
        sync::Coverage {
            kinds: self.kinds.clone(),
            unreadable: self.unreadable.clone(),
        }
    }
}

/// Fields OpenStack cannot express, per kind: the stored value stays on an update
/// (docs/decisions/0011-provider-sync.md).
fn kept_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        // Neutron networks have no address block of their own (only their subnets');
        // the block recorded when the VPC was first seen, or entered since, stays.
        Kind::Vpc => &["cidrs"],
        // Neutron rules have no order.
        Kind::SecurityGroupRule => &["priority"],
        // Nothing in Nova marks a host reserved for internet VPCs.
        Kind::Host => &["dedicated_internet"],
        // Restore tests are the tenant's and the provider's records, not Cinder's.
        Kind::Backup => &["last_restore_test"],
        _ => &[],
    }
}

/// The strings of a field that holds a list (ids, names); absent or not a list: none.
fn strings<'a>(object: &'a ObservedObject, key: &str) -> impl Iterator<Item = &'a str> {
    object
        .fields
        .get(key)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
}

fn note(source: &'static str, external_id: &str, reason: impl Into<String>) -> Problem {
    Problem {
        source,
        index: None,
        external_id: Some(external_id.to_owned()),
        reason: reason.into(),
    }
}

/// An object left out of the snapshot: its problem, and its row kept as it was.
fn leave_out(
    out: &mut Translated,
    source: &'static str,
    kind: Kind,
    external_id: &str,
    reason: impl Into<String>,
) {
    out.problems.push(note(source, external_id, reason));
    out.unreadable.insert((kind, external_id.to_owned()));
}

fn name_or_id(object: &ObservedObject) -> String {
    object
        .fields
        .get("name")
        .and_then(Json::as_str)
        .filter(|name| !name.trim().is_empty())
        .map_or_else(|| object.external_id.clone(), str::to_owned)
}

fn contains(cidr: &str, address: &str) -> bool {
    let (Ok(network), Ok(address)) = (cidr.parse::<ipnet::IpNet>(), address.parse::<IpAddr>())
    else {
        return false;
    };
    network.contains(&address)
}

/// Translates an OpenStack inventory. Objects whose kind yunjian does not record
/// (ports) only inform others.
pub fn openstack(observed: &Observed, placement: &Placement) -> Translated {
    let mut out = Translated {
        kinds: OPENSTACK_KINDS.to_vec(),
        ..Translated::default()
    };
    // What optional APIs answered is the platform's whole word on their kinds.
    if observed.extensions.contains("routers") {
        out.kinds.extend([Kind::VpcPeering, Kind::Route]);
    }
    if observed.extensions.contains("fwaas") {
        out.kinds.push(Kind::FirewallRule);
    }
    let mut pushed: Vec<Json> = Vec::new();
    let of = |kind| observed.of_kind(kind).collect::<Vec<_>>();
    let (hosts, networks, subnets, ports) = (
        of(ObservedKind::Host),
        of(ObservedKind::Network),
        of(ObservedKind::Subnet),
        of(ObservedKind::Port),
    );
    let (groups, rules, servers) = (
        of(ObservedKind::SecurityGroup),
        of(ObservedKind::SecurityGroupRule),
        of(ObservedKind::Server),
    );
    let (volumes, snapshots, backups, images) = (
        of(ObservedKind::Volume),
        of(ObservedKind::Snapshot),
        of(ObservedKind::Backup),
        of(ObservedKind::Image),
    );

    for (id, fields) in &placement.datacenters {
        pushed.push(json!({"kind": "datacenter", "id": id, "fields": fields}));
    }
    // A host's zone: Nova's zone listing, else the zone of the servers it runs.
    let mut server_zone_of_host: HashMap<String, String> = HashMap::new();
    for server in &servers {
        if let (Some(host), Some(zone)) = (
            server.references.get("host"),
            server
                .fields
                .get("availability_zone")
                .and_then(Json::as_str),
        ) {
            server_zone_of_host
                .entry(host.clone())
                .or_insert_with(|| zone.to_owned());
        }
    }

    // Hosts: by id, and by the host names servers and ports use.
    let mut host_by_name: HashMap<String, String> = HashMap::new();
    let mut host_of_server: HashMap<String, String> = HashMap::new();
    for host in &hosts {
        let name = name_or_id(host);
        host_by_name.insert(name.clone(), host.external_id.clone());
        for server in strings(host, "servers") {
            host_of_server.insert(server.to_owned(), host.external_id.clone());
        }
        let availability_zone = observed
            .host_zones
            .get(&name)
            .or_else(|| server_zone_of_host.get(&name))
            .map(String::as_str);
        let mut fields = json!({
            "name": name,
            "datacenter_id": placement.datacenter_of(availability_zone),
            "zone_id": placement.zone_of(availability_zone),
        });
        for key in ["cpu_cores", "memory_gib"] {
            if let Some(value) = host.fields.get(key).filter(|value| !value.is_null()) {
                fields[key] = value.clone();
            }
        }
        pushed.push(json!({"kind": "host", "id": host.external_id, "fields": fields}));
    }

    let images_present: HashSet<&str> = images
        .iter()
        .map(|image| image.external_id.as_str())
        .collect();
    for image in &images {
        let Some(digest) = image.fields.get("digest").and_then(Json::as_str) else {
            leave_out(
                &mut out,
                "glance images",
                Kind::Image,
                &image.external_id,
                "no hash yet (the upload has not finished): left out",
            );
            continue;
        };
        let visibility = match image.fields.get("visibility").and_then(Json::as_str) {
            Some("public" | "community") => "public",
            _ => "private",
        };
        let mut object = json!({
            "kind": "image", "id": image.external_id,
            "fields": {
                "name": name_or_id(image),
                "os": image.fields.get("os").and_then(Json::as_str)
                    .or_else(|| image.fields.get("disk_format").and_then(Json::as_str))
                    .unwrap_or("unknown"),
                "visibility": visibility,
                "digest": digest,
            },
        });
        if visibility == "private" {
            if let Some(project) = &image.project {
                object["project"] = json!(project);
            }
        }
        pushed.push(object);
    }

    // Networks: VPCs of their projects, with their subnets' CIDRs.
    let mut subnets_of: BTreeMap<&str, Vec<&ObservedObject>> = BTreeMap::new();
    for subnet in &subnets {
        if let Some(network) = subnet.references.get("network") {
            subnets_of.entry(network.as_str()).or_default().push(subnet);
        }
    }
    let mut vpcs: HashSet<&str> = HashSet::new();
    let mut first_network_of_project: BTreeMap<&str, &str> = BTreeMap::new();
    for network in &networks {
        if network.fields.get("external").and_then(Json::as_bool) == Some(true) {
            out.problems.push(note(
                "neutron networks",
                &network.external_id,
                "an external network is the platform's, not a tenant's VPC: not recorded as one",
            ));
            continue;
        }
        let own = subnets_of
            .get(network.external_id.as_str())
            .cloned()
            .unwrap_or_default();
        let cidrs: Vec<&str> = own
            .iter()
            .filter_map(|subnet| subnet.fields.get("cidr").and_then(Json::as_str))
            .collect();
        if cidrs.is_empty() {
            leave_out(
                &mut out,
                "neutron networks",
                Kind::Vpc,
                &network.external_id,
                "a network without subnets has no address space: left out",
            );
            continue;
        }
        let Some(project) = &network.project else {
            leave_out(
                &mut out,
                "neutron networks",
                Kind::Vpc,
                &network.external_id,
                "no project: no tenant can own it",
            );
            continue;
        };
        first_network_of_project
            .entry(project.as_str())
            .or_insert(network.external_id.as_str());
        vpcs.insert(network.external_id.as_str());
        let availability_zone = network
            .fields
            .get("availability_zone")
            .and_then(Json::as_str);
        let mut fields = json!({
            "name": name_or_id(network), "zone_id": placement.zone_of(availability_zone), "cidrs": cidrs,
        });
        if let Some(description) = network
            .fields
            .get("description")
            .and_then(Json::as_str)
            .filter(|text| !text.is_empty())
        {
            fields["description"] = json!(description);
        }
        pushed.push(
            json!({"kind": "vpc", "id": network.external_id, "project": project, "fields": fields}),
        );
        for subnet in own {
            pushed.push(json!({
                "kind": "subnet", "id": subnet.external_id,
                "fields": {"name": name_or_id(subnet), "vpc_id": network.external_id, "cidr": subnet.fields["cidr"]},
            }));
        }
    }

    // Ports tell which VM sits in which subnet, on which host, in which groups.
    let mut port_of_server: HashMap<&str, &ObservedObject> = HashMap::new();
    let mut ports_of_server: HashMap<&str, Vec<&ObservedObject>> = HashMap::new();
    // Every recorded network whose ports use a group, in the order first seen.
    let mut networks_of_group: HashMap<String, Vec<String>> = HashMap::new();
    for port in &ports {
        if let Some(server) = port.references.get("server") {
            port_of_server.entry(server.as_str()).or_insert(port);
            ports_of_server
                .entry(server.as_str())
                .or_default()
                .push(port);
        }
        if let Some(network) = port
            .references
            .get("network")
            .filter(|network| vpcs.contains(network.as_str()))
        {
            for group in strings(port, "security_groups") {
                let networks = networks_of_group.entry(group.to_owned()).or_default();
                if !networks.contains(network) {
                    networks.push(network.clone());
                }
            }
        }
    }

    // A Neutron group belongs to a project, a world group to one VPC: a group used in
    // several networks is recorded in the first and copied (`group@network`, its rules
    // `rule@network`) into each other, so every VM keeps its groups.
    let mut group_at: HashMap<(String, String), String> = HashMap::new();
    let mut networks_of: HashMap<&str, Vec<String>> = HashMap::new();
    for group in &groups {
        let used = networks_of_group
            .get(&group.external_id)
            .cloned()
            .unwrap_or_default();
        let network = used.first().cloned().or_else(|| {
            group
                .project
                .as_deref()
                .and_then(|project| first_network_of_project.get(project))
                .map(|network| (*network).to_owned())
        });
        let Some(network) = network else {
            leave_out(
                &mut out,
                "neutron security groups",
                Kind::SecurityGroup,
                &group.external_id,
                "no network of its project uses it or could hold it: left out",
            );
            continue;
        };
        let mut networks = vec![network];
        networks.extend(used.into_iter().skip(1));
        for (copy, network) in networks.iter().enumerate() {
            let id = if copy == 0 {
                group.external_id.clone()
            } else {
                format!("{}@{network}", group.external_id)
            };
            group_at.insert((group.external_id.clone(), network.clone()), id.clone());
            pushed.push(json!({
                "kind": "security_group", "id": id,
                "fields": {"name": name_or_id(group), "vpc_id": network,
                           "description": group.fields.get("description").cloned().unwrap_or(Json::Null)},
            }));
        }
        networks_of.insert(group.external_id.as_str(), networks);
    }
    for rule in &rules {
        if rule
            .fields
            .get("remote_address_group")
            .is_some_and(|value| !value.is_null())
        {
            leave_out(&mut out, "neutron security group rules", Kind::SecurityGroupRule, &rule.external_id, "a remote address group cannot be recorded: the rule is left out and its group's paths are not verifiable");
            continue;
        }
        let mut fields = Map::new();
        for key in [
            "direction",
            "action",
            "protocol",
            "port_from",
            "port_to",
            "remote_cidr",
            "description",
        ] {
            if let Some(value) = rule.fields.get(key).filter(|value| !value.is_null()) {
                fields.insert(key.to_owned(), value.clone());
            }
        }
        // Neutron rules are allows without order: one priority for all.
        fields.insert("priority".into(), json!(1));
        let group = rule.references.get("security_group");
        let networks = group
            .and_then(|group| networks_of.get(group.as_str()))
            .cloned()
            .unwrap_or_else(|| vec![String::new()]);
        // The rule in each network its group is recorded in; a remote group is its copy
        // in the same network when there is one (members elsewhere are not counted:
        // the world's remote is one group).
        for (copy, network) in networks.iter().enumerate() {
            let mut fields = fields.clone();
            let at = |id: &String| {
                group_at
                    .get(&(id.clone(), network.clone()))
                    .cloned()
                    .unwrap_or_else(|| id.clone())
            };
            if let Some(group) = group {
                fields.insert("security_group_id".into(), json!(at(group)));
            }
            if let Some(remote) = rule.references.get("remote_group") {
                fields.insert("remote_group_id".into(), json!(at(remote)));
            }
            let id = if copy == 0 {
                rule.external_id.clone()
            } else {
                format!("{}@{network}", rule.external_id)
            };
            pushed.push(json!({"kind": "security_group_rule", "id": id, "fields": fields}));
        }
    }

    let subnet_network: HashMap<&str, &str> = subnets
        .iter()
        .filter_map(|subnet| {
            Some((
                subnet.external_id.as_str(),
                subnet.references.get("network")?.as_str(),
            ))
        })
        .collect();
    let mut open_networks: BTreeSet<String> = BTreeSet::new();
    let mut keep_groups: Vec<String> = Vec::new();
    for server in &servers {
        let port = port_of_server.get(server.external_id.as_str());
        let addresses: Vec<&str> = strings(server, "ip_addresses").collect();
        let subnet = port
            .and_then(|port| port.references.get("subnet"))
            .map(String::as_str)
            .filter(|subnet| {
                subnet_network
                    .get(subnet)
                    .is_some_and(|network| vpcs.contains(network))
            })
            .or_else(|| {
                subnets.iter().find_map(|subnet| {
                    let network = subnet.references.get("network")?;
                    let same_project = subnet.project.is_some() && subnet.project == server.project;
                    let cidr = subnet.fields.get("cidr")?.as_str()?;
                    (same_project
                        && vpcs.contains(network.as_str())
                        && addresses.iter().any(|address| contains(cidr, address)))
                    .then_some(subnet.external_id.as_str())
                })
            });
        let Some(subnet) = subnet else {
            leave_out(
                &mut out,
                "nova servers",
                Kind::Vm,
                &server.external_id,
                "no port or address places it in a subnet of a recorded network: left out",
            );
            continue;
        };
        let network = subnet_network.get(subnet).copied().unwrap_or_default();
        let host = server
            .references
            .get("host")
            .and_then(|name| host_by_name.get(name))
            .or_else(|| {
                port.and_then(|port| port.references.get("host"))
                    .and_then(|name| host_by_name.get(name))
            })
            .or_else(|| host_of_server.get(&server.external_id));
        let status = match server.fields.get("status").and_then(Json::as_str) {
            Some("ACTIVE") => "running",
            _ => "stopped",
        };
        let mut fields = json!({
            "name": name_or_id(server), "vpc_id": network, "subnet_id": subnet,
            "vcpus": server.fields.get("vcpus"), "memory_mib": server.fields.get("memory_mib"),
            "ip_addresses": addresses, "status": status,
        });
        if let Some(host) = host {
            fields["host_id"] = json!(host);
        }
        match ports_of_server.get(server.external_id.as_str()) {
            Some(own) => {
                let groups = vm_groups(
                    &mut out,
                    &mut open_networks,
                    &server.external_id,
                    network,
                    own,
                    &group_at,
                );
                fields["security_group_ids"] = json!(groups);
            }
            // No port seen: the groups recorded before stay.
            None => keep_groups.push(server.external_id.clone()),
        }
        if let Some(image) = server
            .references
            .get("image")
            .filter(|image| images_present.contains(image.as_str()))
        {
            fields["image_id"] = json!(image);
        }
        pushed.push(json!({"kind": "vm", "id": server.external_id, "fields": fields}));
    }

    for volume in &volumes {
        if volume.project.is_none() {
            leave_out(
                &mut out,
                "cinder volumes",
                Kind::Volume,
                &volume.external_id,
                "no project (an administrator's answer names it): no tenant can own it, left out",
            );
            continue;
        }
        let mut fields = json!({
            "name": name_or_id(volume), "size_gib": volume.fields.get("size_gib"),
            "encrypted": volume.fields.get("encrypted"),
        });
        if let Some(server) = volume.references.get("server") {
            fields["vm_id"] = json!(server);
        }
        pushed.push(json!({"kind": "volume", "id": volume.external_id, "project": volume.project, "fields": fields}));
    }
    for snapshot in &snapshots {
        pushed.push(json!({
            "kind": "snapshot", "id": snapshot.external_id,
            "fields": {"name": name_or_id(snapshot), "size_gib": snapshot.fields.get("size_gib"),
                       "volume_id": snapshot.references.get("volume")},
        }));
    }
    let volume_projects: HashMap<&str, &str> = volumes
        .iter()
        .filter_map(|volume| Some((volume.external_id.as_str(), volume.project.as_deref()?)))
        .collect();
    for backup in &backups {
        // Non-admin answers omit a backup's project: its volume's then, else no owner.
        let project = backup.project.as_deref().or_else(|| {
            backup
                .references
                .get("volume")
                .and_then(|volume| volume_projects.get(volume.as_str()).copied())
        });
        let Some(project) = project else {
            leave_out(
                &mut out,
                "cinder backups",
                Kind::Backup,
                &backup.external_id,
                "no project (an administrator's answer names it): no tenant can own it, left out",
            );
            continue;
        };
        let availability_zone = backup
            .fields
            .get("availability_zone")
            .and_then(Json::as_str);
        let mut fields = json!({
            "name": name_or_id(backup),
            "datacenter_id": placement.datacenter_of(availability_zone),
            "backup_kind": placement.backup_kind_of(availability_zone),
        });
        if let Some(volume) = backup.references.get("volume") {
            fields["volume_id"] = json!(volume);
        }
        pushed.push(json!({"kind": "backup", "id": backup.external_id, "project": project, "fields": fields}));
    }

    for network in &open_networks {
        pushed.extend(open_group(network));
    }
    if observed.extensions.contains("routers") {
        routers(&mut out, &mut pushed, observed, &vpcs, &subnets_of);
    }
    if observed.extensions.contains("fwaas") {
        firewalls(&mut out, &mut pushed, observed, &ports);
    }

    let mut out = finish(out, &pushed);
    for object in &mut out.objects {
        if object.kind == Kind::Vm && keep_groups.contains(&object.external_id) {
            object.keep_fields.push("security_group_ids");
        }
    }
    out
}

/// The id of the allow-all group that stands for port security being off in a network.
fn open_group_id(network: &str) -> String {
    format!("port-security-off:{network}")
}

/// A VM's groups: those of its ports in its network, as recorded there. A port
/// with port security off filters nothing: the network's allow-all group stands for it.
fn vm_groups(
    out: &mut Translated,
    open_networks: &mut BTreeSet<String>,
    server: &str,
    network: &str,
    ports: &[&ObservedObject],
    group_at: &HashMap<(String, String), String>,
) -> Vec<String> {
    let mut groups = BTreeSet::new();
    for port in ports {
        if port.references.get("network").map(String::as_str) != Some(network) {
            continue;
        }
        if port
            .fields
            .get("port_security_enabled")
            .and_then(Json::as_bool)
            == Some(false)
        {
            open_networks.insert(network.to_owned());
            groups.insert(open_group_id(network));
            continue;
        }
        for group in strings(port, "security_groups") {
            match group_at.get(&(group.to_owned(), network.to_owned())) {
                Some(id) => {
                    groups.insert(id.clone());
                }
                None => out.problems.push(note(
                    "neutron ports",
                    server,
                    format!(
                        "security group {group} was not recorded: not listed among the VM's groups"
                    ),
                )),
            }
        }
    }
    groups.into_iter().collect()
}

/// The allow-all group (and its two rules) of a network with port security off.
fn open_group(network: &str) -> [Json; 3] {
    let id = open_group_id(network);
    let rule = |direction: &str| {
        json!({"kind": "security_group_rule", "id": format!("{id}:{direction}"), "fields": {
            "security_group_id": id, "direction": direction, "priority": 1, "action": "allow",
            "protocol": "any", "remote_cidr": "0.0.0.0/0",
            "description": "端口安全已关闭：不过滤 / port security off: nothing is filtered",
        }})
    };
    [
        json!({"kind": "security_group", "id": id, "fields": {
            "name": "端口安全已关闭 (port security off)", "vpc_id": network,
            "description": "OpenStack 端口关闭了端口安全：该端口不经安全组过滤",
        }}),
        rule("ingress"),
        rule("egress"),
    ]
}

/// Routers: each two recorded networks a router joins are peered, with routes to each
/// other's subnets; the external gateway is each network's default route; extra routes
/// lead to an address the model does not hold.
fn routers(
    out: &mut Translated,
    pushed: &mut Vec<Json>,
    observed: &Observed,
    vpcs: &HashSet<&str>,
    subnets_of: &BTreeMap<&str, Vec<&ObservedObject>>,
) {
    let mut joined: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for port in observed.of_kind(ObservedKind::Port) {
        if let (Some(router), Some(network)) = (
            port.references.get("router"),
            port.references.get("network"),
        ) {
            if vpcs.contains(network.as_str()) {
                joined.entry(router).or_default().insert(network);
            }
        }
    }
    let cidrs_of = |network: &str| -> Vec<String> {
        subnets_of
            .get(network)
            .into_iter()
            .flatten()
            .filter_map(|subnet| subnet.fields.get("cidr")?.as_str().map(str::to_owned))
            .collect()
    };
    for router in observed.of_kind(ObservedKind::Router) {
        let Some(networks) = joined.get(router.external_id.as_str()) else {
            continue;
        };
        if router.fields.get("admin_state_up").and_then(Json::as_bool) == Some(false) {
            out.problems.push(note(
                "neutron routers",
                &router.external_id,
                "administratively down: it forwards nothing and is not recorded",
            ));
            continue;
        }
        let id = &router.external_id;
        let name = name_or_id(router);
        let route = |network: &str, suffix: String, fields: Json| {
            let mut fields = fields;
            fields["vpc_id"] = json!(network);
            json!({"kind": "route", "id": format!("{id}:{network}:{suffix}"), "fields": fields})
        };
        let networks: Vec<&str> = networks.iter().copied().collect();
        for (position, a) in networks.iter().enumerate() {
            for b in &networks[position + 1..] {
                let peering = format!("{id}:{a}:{b}");
                pushed.push(json!({"kind": "vpc_peering", "id": peering, "fields": {
                    "vpc_id": a, "peer_vpc_id": b, "name": format!("router {name}"),
                    "description": format!("OpenStack 路由器 {name} 连接的两个网络 / joined by router {name}"),
                }}));
                for (from, to) in [(a, b), (b, a)] {
                    for cidr in cidrs_of(to) {
                        pushed.push(route(
                            from,
                            format!("peer:{cidr}"),
                            json!({
                                "destination": cidr, "next_hop": "peering", "peering_id": peering,
                                "description": format!("router {name}"),
                            }),
                        ));
                    }
                }
            }
            if router
                .fields
                .get("external_gateway")
                .and_then(Json::as_bool)
                == Some(true)
            {
                let snat = router.fields.get("enable_snat").and_then(Json::as_bool) != Some(false);
                pushed.push(route(
                    a,
                    "gateway".into(),
                    json!({
                        "destination": "0.0.0.0/0",
                        "next_hop": if snat { "nat_gateway" } else { "internet_gateway" },
                        "description": format!("router {name} external gateway"),
                    }),
                ));
            }
            for extra in router
                .fields
                .get("routes")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(destination), Some(nexthop)) =
                    (extra["destination"].as_str(), extra["nexthop"].as_str())
                else {
                    continue;
                };
                pushed.push(route(
                    a,
                    format!("extra:{destination}"),
                    json!({
                        "destination": destination, "next_hop": "address",
                        "description": format!("router {name} via {nexthop}"),
                    }),
                ));
            }
        }
    }
}

/// FWaaS v2: the rules each project's active firewall groups apply, as that tenant's
/// firewall rules in order (ingress policy, then egress; each rule once). Disabled
/// rules apply to nothing and are left out; a rule matching source ports, which the
/// model does not hold, is taken at layer 4 and marked as not verifiable.
fn firewalls(
    out: &mut Translated,
    pushed: &mut Vec<Json>,
    observed: &Observed,
    ports: &[&ObservedObject],
) {
    let policies: HashMap<&str, &ObservedObject> = observed
        .of_kind(ObservedKind::FirewallPolicy)
        .map(|policy| (policy.external_id.as_str(), policy))
        .collect();
    let rules: HashMap<&str, &ObservedObject> = observed
        .of_kind(ObservedKind::FirewallRule)
        .map(|rule| (rule.external_id.as_str(), rule))
        .collect();
    let port_projects: HashMap<&str, &str> = ports
        .iter()
        .filter_map(|port| Some((port.external_id.as_str(), port.project.as_deref()?)))
        .collect();
    let mut groups: Vec<&ObservedObject> = observed.of_kind(ObservedKind::FirewallGroup).collect();
    groups.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let mut order: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for group in groups {
        let applied: Vec<&str> = strings(group, "ports").collect();
        if group.fields.get("admin_state_up").and_then(Json::as_bool) == Some(false)
            || applied.is_empty()
        {
            continue;
        }
        // The tenant whose firewall it is: the group's project, else its ports'.
        let Some(project) = group.project.as_deref().or_else(|| {
            applied
                .iter()
                .find_map(|port| port_projects.get(port).copied())
        }) else {
            out.problems.push(note(
                "neutron firewall groups",
                &group.external_id,
                "no project: no tenant's firewall; its rules are not recorded",
            ));
            continue;
        };
        let sequence = order.entry(project.to_owned()).or_default();
        for key in ["ingress_policy", "egress_policy"] {
            let Some(policy) = group.references.get(key) else {
                continue;
            };
            let Some(policy) = policies.get(policy.as_str()) else {
                out.problems.push(note(
                    "neutron firewall groups",
                    &group.external_id,
                    format!("policy {policy} was not listed: its rules are not recorded"),
                ));
                continue;
            };
            for rule in strings(policy, "rules") {
                if !sequence.contains(&rule) {
                    sequence.push(rule);
                }
            }
        }
    }
    let mut used: HashSet<&str> = HashSet::new();
    for (project, sequence) in &order {
        let mut position = 0;
        for key in sequence {
            let Some(rule) = rules.get(key) else {
                out.problems.push(note(
                    "neutron firewall rules",
                    key,
                    "named by a policy but not listed: not recorded (the firewall may deny less than it seems)",
                ));
                continue;
            };
            if rule.fields.get("enabled").and_then(Json::as_bool) == Some(false) {
                continue;
            }
            match firewall_rule(rule) {
                Ok(mut fields) => {
                    position += 1;
                    fields["position"] = json!(position);
                    // A rule shared by two projects' firewalls is one row in each.
                    let id = if used.insert(key) {
                        (*key).to_owned()
                    } else {
                        format!("{key}@{project}")
                    };
                    pushed.push(json!({"kind": "firewall_rule", "id": id, "project": project, "fields": fields}));
                }
                Err(reason) => leave_out(
                    out,
                    "neutron firewall rules",
                    Kind::FirewallRule,
                    key,
                    reason,
                ),
            }
        }
    }
}

/// One FWaaS rule's fields in the world's terms (position aside).
fn firewall_rule(rule: &ObservedObject) -> Result<Json, String> {
    let field = |key: &str| rule.fields.get(key).and_then(Json::as_str);
    let any = if rule.fields.get("ip_version").and_then(Json::as_i64) == Some(6) {
        "::/0"
    } else {
        "0.0.0.0/0"
    };
    let address = |key: &str| -> Result<String, String> {
        match field(key) {
            None => Ok(any.to_owned()),
            Some(text) if text.contains('/') => text
                .parse::<ipnet::IpNet>()
                .map(|net| net.trunc().to_string())
                .map_err(|_| format!("{key} '{text}' is not an address or CIDR")),
            Some(text) => text
                .parse::<IpAddr>()
                .map(|address| ipnet::IpNet::from(address).to_string())
                .map_err(|_| format!("{key} '{text}' is not an address or CIDR")),
        }
    };
    let protocol = field("protocol").unwrap_or("any");
    let mut fields = json!({
        "name": field("name").filter(|name| !name.trim().is_empty()).unwrap_or(&rule.external_id),
        "action": field("action").unwrap_or("deny"),
        "protocol": protocol,
        "source_cidr": address("source")?,
        "destination_cidr": address("destination")?,
    });
    if let Some(description) = field("description").filter(|text| !text.is_empty()) {
        fields["description"] = json!(description);
    }
    if let Some(ports) = field("destination_port") {
        if matches!(protocol, "tcp" | "udp") {
            let (from, to) = ports.split_once(':').unwrap_or((ports, ports));
            match (from.trim().parse::<u16>(), to.trim().parse::<u16>()) {
                (Ok(from), Ok(to)) if from >= 1 => {
                    fields["port_from"] = json!(from);
                    fields["port_to"] = json!(to);
                }
                _ => return Err(format!("destination_port '{ports}' is not a port or range")),
            }
        }
    }
    if let Some(ports) = field("source_port") {
        fields["application"] = json!(format!("source port {ports}"));
    }
    Ok(fields)
}

/// Reads the translated objects as the standard API would, each bad one its own
/// problem, then drops what cannot hold together.
fn finish(mut out: Translated, pushed: &[Json]) -> Translated {
    let mut objects = Vec::with_capacity(pushed.len());
    for (index, item) in pushed.iter().enumerate() {
        match sync::parse_object(index, item) {
            Ok(mut object) => {
                object.keep_fields = kept_fields(object.kind).to_vec();
                objects.push(object);
            }
            Err(errors) => {
                for error in errors {
                    let external_id = error.external_id.clone().unwrap_or_default();
                    if let Some(kind) = error.kind.as_deref().and_then(sync::pushed_kind) {
                        out.unreadable.insert((kind, external_id.clone()));
                    }
                    out.problems
                        .push(note("openstack", &external_id, error.to_string()));
                }
            }
        }
    }
    let (kept, dropped) = sync::prune_dangling(objects);
    for (kind, external_id, reason) in dropped {
        out.problems.push(note("openstack", &external_id, reason));
        out.unreadable.insert((kind, external_id));
    }
    out.objects = sync::unique_names(kept);
    out
}

/// What a Kubernetes pull speaks for.
pub const KUBERNETES_KINDS: [Kind; 2] = [Kind::ContainerWorkload, Kind::NetworkPolicy];

/// Translates a Kubernetes cluster's namespaces, pods and NetworkPolicies. A namespace's
/// project is its `project_label` label when given and present, else its name.
pub fn kubernetes(observed: &Observed, cluster: &str, project_label: Option<&str>) -> Translated {
    let mut out = Translated {
        kinds: KUBERNETES_KINDS.to_vec(),
        ..Translated::default()
    };
    let project_of: HashMap<&str, String> = observed
        .of_kind(ObservedKind::Namespace)
        .filter_map(|namespace| {
            let name = namespace.fields.get("name")?.as_str()?;
            let labelled = project_label
                .and_then(|label| namespace.fields.get("labels")?.get(label)?.as_str())
                .filter(|project| !project.is_empty());
            Some((name, labelled.unwrap_or(name).to_owned()))
        })
        .collect();
    // Each pod carries its namespace's labels: namespaceSelectors match them.
    let namespace_labels: HashMap<&str, Vec<Json>> = observed
        .of_kind(ObservedKind::Namespace)
        .filter_map(|namespace| {
            let name = namespace.fields.get("name")?.as_str()?;
            let labels = namespace
                .fields
                .get("labels")
                .cloned()
                .unwrap_or(Json::Null);
            Some((name, crate::kubernetes::label_texts(&labels)))
        })
        .collect();
    let mut pushed = Vec::new();
    for (kind, object) in observed
        .of_kind(ObservedKind::Pod)
        .map(|pod| ("container_workload", pod))
        .chain(
            observed
                .of_kind(ObservedKind::NetworkPolicy)
                .map(|policy| ("network_policy", policy)),
        )
    {
        let namespace = object
            .fields
            .get("namespace")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let Some(project) = project_of.get(namespace) else {
            out.problems.push(note(
                "kubernetes",
                &object.external_id,
                format!("namespace {namespace} was not listed: left out"),
            ));
            if let Some(kind) = sync::pushed_kind(kind) {
                out.unreadable.insert((kind, object.external_id.clone()));
            }
            continue;
        };
        let mut fields = Map::new();
        fields.insert("cluster".into(), json!(cluster));
        for (key, value) in &object.fields {
            fields.insert((*key).to_owned(), value.clone());
        }
        if kind == "container_workload" {
            if let Some(labels) = namespace_labels.get(namespace) {
                fields.insert("namespace_labels".into(), json!(labels));
            }
        }
        pushed.push(
            json!({"kind": kind, "id": object.external_id, "project": project, "fields": fields}),
        );
    }
    finish(out, &pushed)
}
