//! Network isolation verification as use-cases (issue 8): the world's network objects
//! turned into the engine's model, verified once and kept current by following the
//! audit ledger — every committed change is an audit record, so an instance that sees
//! the ledger grow re-reads only the objects those records name and re-verifies only
//! what they can affect; each change's effect on the findings goes to the policy-change
//! log (7.2.4.7). Structural changes (a VPC, subnet, ACL, zone, host, a provider's
//! sync) reload the whole model, which the benchmark shows is cheap at this scale.
//!
//! Reads are scoped like the world: a tenant sees findings that concern it and may ask
//! only about its own VMs; a provider operator about its own VPCs. Queries and what-if
//! are reads of configuration (not audited unless refused); the changes themselves are
//! audited where they are made.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use ipnet::IpNet;
use serde::Serialize;
use yunjian_core::access::{read_scope, ReadScope};
use yunjian_core::schema::Kind;
use yunjian_core::value::{Value, Values};
use yunjian_network::checks::{self, Finding, Invariant, Subject};
use yunjian_network::engine::{Change, Decider, Network, Stage, Verdict};
use yunjian_network::model::{
    AclRule, Action as RuleAction, ContainerPolicy, Direction, ExchangeRule, FirewallRule,
    GroupRule, Host, Interface, ManagementEndpoint, Model, NextHop, Peering, Pod, Ports, Protocol,
    Remote, Route, SecurityGroup, Subnet, Vpc, Zone,
};
use yunjian_network::ports::PortSet;
use yunjian_network::verify::{Delta, Verifier};
use yunjian_policy::Action;
use yunjian_store::{NetworkChange, Store, WorldObject};

use crate::error::AppError;
use crate::{App, Context};

/// Names of what findings mention, for people.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Names {
    pub tenants: BTreeMap<i64, String>,
    pub vpcs: BTreeMap<i64, VpcName>,
    pub vms: BTreeMap<i64, String>,
    pub groups: BTreeMap<i64, String>,
    pub hosts: BTreeMap<i64, String>,
    pub zones: BTreeMap<i64, String>,
    pub subnets: BTreeMap<i64, (String, i64)>,
    /// Rule id → its description (group rules, ACL rules, firewall rules).
    pub rules: BTreeMap<String, String>,
    /// Container workload id → `namespace/name`, and its provider.
    pub pods: BTreeMap<i64, (String, i64)>,
    /// NetworkPolicy id → its name, and its provider.
    pub container_policies: BTreeMap<i64, (String, i64)>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VpcName {
    pub name: String,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub zone_id: i64,
}

/// The verified network of one instance, with where in the ledger it stands.
pub struct Loaded {
    pub verifier: Verifier,
    /// The ledger size this state reflects.
    pub stamp: u64,
    pub names: Names,
    pub load_ms: f64,
    pub verify_ms: f64,
}

/// Each instance's verified network (rebuilt from the store on demand).
#[derive(Default)]
pub struct NetworkCache {
    state: tokio::sync::RwLock<Option<Loaded>>,
}

/// Kinds whose single objects are applied as changes; the others reload everything.
const INCREMENTAL: [Kind; 7] = [
    Kind::SecurityGroupRule,
    Kind::Vm,
    Kind::FirewallRule,
    Kind::VpcPeering,
    Kind::ExchangeRule,
    Kind::Route,
    Kind::ManagementEndpoint,
];
/// Kinds that change the model but only as a whole.
const STRUCTURAL: [Kind; 10] = [
    Kind::Zone,
    Kind::Host,
    Kind::Tenant,
    Kind::Vpc,
    Kind::Subnet,
    Kind::SecurityGroup,
    Kind::NetworkAcl,
    Kind::NetworkAclRule,
    Kind::ContainerWorkload,
    Kind::NetworkPolicy,
];
/// More records than this behind: reload instead of catching up one by one.
const CATCH_UP_LIMIT: u32 = 2_000;

fn int(values: &Values, name: &str) -> Option<i64> {
    values.get(name).and_then(Value::as_int)
}

fn text<'a>(values: &'a Values, name: &str) -> Option<&'a str> {
    values.get(name).and_then(Value::as_text)
}

fn protocol(values: &Values) -> Protocol {
    match text(values, "protocol") {
        Some("tcp") => Protocol::Tcp,
        Some("udp") => Protocol::Udp,
        Some("icmp") => Protocol::Icmp,
        _ => Protocol::Any,
    }
}

/// A rule's ports: absent means every port (and ICMP has none).
fn ports(values: &Values) -> Ports {
    match (int(values, "port_from"), int(values, "port_to")) {
        (Some(from), to) => {
            let from = u16::try_from(from).unwrap_or(0);
            let to = to.and_then(|to| u16::try_from(to).ok()).unwrap_or(from);
            Ports {
                from: from.min(to),
                to: from.max(to),
            }
        }
        _ => Ports::ALL,
    }
}

fn action(values: &Values) -> RuleAction {
    if text(values, "action") == Some("deny") {
        RuleAction::Deny
    } else {
        RuleAction::Allow
    }
}

fn direction(values: &Values) -> Direction {
    if text(values, "direction") == Some("egress") {
        Direction::Egress
    } else {
        Direction::Ingress
    }
}

fn cidr(values: &Values, name: &str) -> Option<IpNet> {
    text(values, name).and_then(|text| text.parse().ok())
}

fn everywhere() -> IpNet {
    IpNet::V4(ipnet::Ipv4Net::default())
}

pub(crate) fn group_rule(object: &WorldObject) -> Option<GroupRule> {
    let values = &object.values;
    let remote = match (cidr(values, "remote_cidr"), int(values, "remote_group_id")) {
        (_, Some(group)) => Remote::Group(group),
        (Some(net), None) => Remote::Cidr(net),
        // No remote: the clouds read it as everyone.
        (None, None) => Remote::Cidr(everywhere()),
    };
    Some(GroupRule {
        id: object.id,
        group_id: int(values, "security_group_id")?,
        direction: direction(values),
        priority: int(values, "priority").unwrap_or(1),
        action: action(values),
        protocol: protocol(values),
        ports: ports(values),
        remote,
    })
}

fn firewall_rule(object: &WorldObject) -> Option<FirewallRule> {
    let values = &object.values;
    Some(FirewallRule {
        id: object.id,
        tenant_id: int(values, "tenant_id")?,
        order: int(values, "position").unwrap_or(1),
        action: action(values),
        protocol: protocol(values),
        ports: ports(values),
        source: cidr(values, "source_cidr")?,
        destination: cidr(values, "destination_cidr")?,
        layer7: text(values, "application").is_some_and(|text| !text.trim().is_empty()),
    })
}

fn peering(object: &WorldObject) -> Option<Peering> {
    Some(Peering {
        id: object.id,
        vpc_a: int(&object.values, "vpc_id")?,
        vpc_b: int(&object.values, "peer_vpc_id")?,
    })
}

pub(crate) fn exchange_rule(object: &WorldObject) -> Option<ExchangeRule> {
    let values = &object.values;
    Some(ExchangeRule {
        id: object.id,
        from_vpc: int(values, "from_vpc_id")?,
        to_vpc: int(values, "to_vpc_id")?,
        protocol: protocol(values),
        ports: ports(values),
    })
}

fn route(object: &WorldObject) -> Option<Route> {
    let values = &object.values;
    let next_hop = match text(values, "next_hop")? {
        "local" => NextHop::Local,
        // A peering route without its peering goes nowhere: peering 0 never exists.
        "peering" => NextHop::Peering(int(values, "peering_id").unwrap_or(0)),
        "nat_gateway" => NextHop::NatGateway,
        "vpn_gateway" => NextHop::VpnGateway,
        "internet_gateway" => NextHop::InternetGateway,
        "zone_gateway" => NextHop::ZoneGateway,
        "address" => NextHop::Address,
        _ => NextHop::Dynamic,
    };
    Some(Route {
        id: object.id,
        vpc_id: int(values, "vpc_id")?,
        destination: cidr(values, "destination")?,
        next_hop,
    })
}

fn addresses(vm: &WorldObject) -> Vec<IpAddr> {
    match vm.values.get("ip_addresses") {
        Some(Value::TextList(list)) => list.iter().filter_map(|text| text.parse().ok()).collect(),
        _ => Vec::new(),
    }
}

fn interfaces(vm: &WorldObject) -> Vec<Interface> {
    let values = &vm.values;
    let (Some(vpc_id), Some(subnet_id)) = (int(values, "vpc_id"), int(values, "subnet_id")) else {
        return Vec::new();
    };
    let groups = match values.get("security_group_ids") {
        Some(Value::IdList(ids)) => ids.clone(),
        _ => Vec::new(),
    };
    addresses(vm)
        .into_iter()
        .map(|address| Interface {
            vm_id: vm.id,
            vpc_id,
            subnet_id,
            address,
            groups: groups.clone(),
            host_id: int(values, "host_id"),
        })
        .collect()
}

/// A management endpoint per address of its VM (ids: the endpoint's × 64 + position,
/// so one endpoint on a VM with several addresses stays several engine endpoints).
fn endpoints(endpoint: &WorldObject, vm: Option<&WorldObject>) -> Vec<ManagementEndpoint> {
    let Some(tenant_id) = int(&endpoint.values, "tenant_id") else {
        return Vec::new();
    };
    vm.map(addresses)
        .unwrap_or_default()
        .into_iter()
        .take(64)
        .enumerate()
        .map(|(position, address)| ManagementEndpoint {
            id: endpoint.id * 64 + position as i64,
            tenant_id,
            address,
        })
        .collect()
}

fn name_of(object: &WorldObject) -> String {
    text(&object.values, "name")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("#{}", object.id))
}

/// Reads every network object and builds the model and the names.
pub async fn load_model(store: &Store) -> Result<(Model, Names), AppError> {
    let mut model = Model::default();
    let mut names = Names::default();
    for tenant in store.scan_all(Kind::Tenant).await? {
        names.tenants.insert(tenant.id, name_of(&tenant));
    }
    for zone in store.scan_all(Kind::Zone).await? {
        names.zones.insert(zone.id, name_of(&zone));
        model.zones.push(Zone {
            id: zone.id,
            internet: text(&zone.values, "zone_kind") == Some("internet"),
        });
    }
    for host in store.scan_all(Kind::Host).await? {
        names.hosts.insert(host.id, name_of(&host));
        if let Some(zone_id) = int(&host.values, "zone_id") {
            model.hosts.push(Host {
                id: host.id,
                zone_id,
            });
        }
    }
    for vpc in store.scan_all(Kind::Vpc).await? {
        let values = &vpc.values;
        let (Some(tenant_id), Some(zone_id)) = (int(values, "tenant_id"), int(values, "zone_id"))
        else {
            continue;
        };
        names.vpcs.insert(
            vpc.id,
            VpcName {
                name: name_of(&vpc),
                tenant_id,
                provider_id: int(values, "provider_id").unwrap_or(0),
                zone_id,
            },
        );
        let cidrs = match values.get("cidrs") {
            Some(Value::TextList(list)) => list.iter().filter_map(|c| c.parse().ok()).collect(),
            _ => Vec::new(),
        };
        model.vpcs.push(Vpc {
            id: vpc.id,
            tenant_id,
            zone_id,
            cidrs,
        });
    }
    // ACLs: rules per ACL, then each bound subnet gets its ACL's rules.
    let mut acl_rules: HashMap<i64, Vec<AclRule>> = HashMap::new();
    for rule in store.scan_all(Kind::NetworkAclRule).await? {
        let values = &rule.values;
        let (Some(acl), Some(remote)) =
            (int(values, "network_acl_id"), cidr(values, "remote_cidr"))
        else {
            continue;
        };
        names.rules.insert(
            format!("acl_rule:{}", rule.id),
            text(values, "description").unwrap_or("").to_owned(),
        );
        acl_rules.entry(acl).or_default().push(AclRule {
            id: rule.id,
            direction: direction(values),
            order: int(values, "position").unwrap_or(1),
            action: action(values),
            protocol: protocol(values),
            ports: ports(values),
            remote,
        });
    }
    let mut subnet_acl: HashMap<i64, i64> = HashMap::new();
    for acl in store.scan_all(Kind::NetworkAcl).await? {
        if let Some(Value::IdList(subnets)) = acl.values.get("subnet_ids") {
            for subnet in subnets {
                subnet_acl.insert(*subnet, acl.id);
            }
        }
    }
    for subnet in store.scan_all(Kind::Subnet).await? {
        let (Some(vpc_id), Some(net)) =
            (int(&subnet.values, "vpc_id"), cidr(&subnet.values, "cidr"))
        else {
            continue;
        };
        names.subnets.insert(subnet.id, (name_of(&subnet), vpc_id));
        model.subnets.push(Subnet {
            id: subnet.id,
            vpc_id,
            cidr: net,
            acl: subnet_acl
                .get(&subnet.id)
                .map(|acl| acl_rules.get(acl).cloned().unwrap_or_default()),
        });
    }
    let mut groups: BTreeMap<i64, SecurityGroup> = BTreeMap::new();
    for group in store.scan_all(Kind::SecurityGroup).await? {
        names.groups.insert(group.id, name_of(&group));
        groups.insert(
            group.id,
            SecurityGroup {
                id: group.id,
                vpc_id: int(&group.values, "vpc_id").unwrap_or(0),
                rules: Vec::new(),
            },
        );
    }
    for rule in store.scan_all(Kind::SecurityGroupRule).await? {
        names.rules.insert(
            format!("group_rule:{}", rule.id),
            text(&rule.values, "description").unwrap_or("").to_owned(),
        );
        if let Some(parsed) = group_rule(&rule) {
            if let Some(group) = groups.get_mut(&parsed.group_id) {
                group.rules.push(parsed);
            }
        }
    }
    model.groups = groups.into_values().collect();
    let vms = store.scan_all(Kind::Vm).await?;
    let vm_index: HashMap<i64, usize> = vms
        .iter()
        .enumerate()
        .map(|(index, vm)| (vm.id, index))
        .collect();
    for vm in &vms {
        names.vms.insert(vm.id, name_of(vm));
        model.interfaces.extend(interfaces(vm));
    }
    for rule in store.scan_all(Kind::FirewallRule).await? {
        names
            .rules
            .insert(format!("firewall_rule:{}", rule.id), name_of(&rule));
        model.firewall.extend(firewall_rule(&rule));
    }
    for object in store.scan_all(Kind::VpcPeering).await? {
        model.peerings.extend(peering(&object));
    }
    for object in store.scan_all(Kind::ExchangeRule).await? {
        model.exchanges.extend(exchange_rule(&object));
    }
    for object in store.scan_all(Kind::Route).await? {
        model.routes.extend(route(&object));
    }
    for object in store.scan_all(Kind::ManagementEndpoint).await? {
        let vm = int(&object.values, "vm_id")
            .and_then(|id| vm_index.get(&id))
            .map(|index| &vms[*index]);
        model.endpoints.extend(endpoints(&object, vm));
    }
    for object in store.scan_all(Kind::ContainerWorkload).await? {
        let Some(place) = in_cluster(&object) else {
            continue;
        };
        let values = &object.values;
        names.pods.insert(object.id, place.shown);
        model.pods.push(Pod {
            id: object.id,
            tenant_id: place.tenant_id,
            cluster: place.cluster,
            namespace: place.namespace,
            labels: labels(values, "labels"),
            namespace_labels: labels(values, "namespace_labels"),
            address: match values.get("ip_addresses") {
                Some(Value::TextList(list)) => list.iter().find_map(|ip| ip.parse().ok()),
                _ => None,
            },
        });
    }
    for object in store.scan_all(Kind::NetworkPolicy).await? {
        let Some(place) = in_cluster(&object) else {
            continue;
        };
        names.container_policies.insert(object.id, place.shown);
        model.container_policies.push(ContainerPolicy {
            id: object.id,
            tenant_id: place.tenant_id,
            cluster: place.cluster,
            namespace: place.namespace,
            spec: text(&object.values, "spec").unwrap_or_default().to_owned(),
        });
    }
    Ok((model, names))
}

/// Where a container object (pod or NetworkPolicy) is.
struct InCluster {
    tenant_id: i64,
    cluster: String,
    namespace: String,
    /// `namespace/name` for findings, and the provider that runs the cluster.
    shown: (String, i64),
}

fn in_cluster(object: &WorldObject) -> Option<InCluster> {
    let values = &object.values;
    let namespace = text(values, "namespace")?;
    Some(InCluster {
        tenant_id: int(values, "tenant_id")?,
        cluster: text(values, "cluster")?.to_owned(),
        namespace: namespace.to_owned(),
        shown: (
            format!("{namespace}/{}", name_of(object)),
            int(values, "provider_id").unwrap_or(0),
        ),
    })
}

/// The providers whose container clusters a finding is about (none for the others,
/// whose VPCs say it).
fn container_providers(finding: &Finding, names: &Names) -> Vec<i64> {
    let pods: Vec<i64> = match &finding.subject {
        Subject::Pods {
            sources,
            destinations,
            ..
        } => sources.iter().chain(destinations).copied().collect(),
        Subject::Namespace { pods, .. } => pods.clone(),
        Subject::ContainerPolicy { policy_id, .. } => {
            return names
                .container_policies
                .get(policy_id)
                .map(|(_, provider)| vec![*provider])
                .unwrap_or_default()
        }
        _ => return Vec::new(),
    };
    let mut providers: Vec<i64> = pods
        .iter()
        .filter_map(|pod| names.pods.get(pod).map(|(_, provider)| *provider))
        .collect();
    providers.sort_unstable();
    providers.dedup();
    providers
}

/// Labels stored as `key=value` texts (a key alone has an empty value).
fn labels(values: &Values, name: &str) -> BTreeMap<String, String> {
    match values.get(name) {
        Some(Value::TextList(list)) => list
            .iter()
            .map(|label| match label.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None => (label.clone(), String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A finding as shown: the finding with its example explained, and the names.
#[derive(Clone, Debug, Serialize)]
pub struct ShownFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub clauses: &'static str,
    pub violation: bool,
    /// "tcp/443, udp/all" — the ranges in words.
    pub ports_text: String,
    pub title: String,
    /// Interface pairs this finding stands for: path findings of one invariant between
    /// the same two VPCs with the same ports and reason are shown once, with the first
    /// pair as the example.
    pub pairs: usize,
}

/// What the findings page answers.
#[derive(Clone, Debug, Serialize)]
pub struct FindingsView {
    pub items: Vec<ShownFinding>,
    pub total: usize,
    pub by_invariant: BTreeMap<&'static str, usize>,
    pub by_tenant: BTreeMap<i64, usize>,
    pub stamp: u64,
    pub load_ms: f64,
    pub verify_ms: f64,
    pub size: yunjian_network::engine::Size,
    #[serde(skip)]
    pub names: Names,
}

#[derive(Clone, Debug, Default)]
pub struct FindingsFilter {
    pub tenant_id: Option<i64>,
    pub vpc_id: Option<i64>,
    pub invariant: Option<Invariant>,
    pub limit: usize,
}

/// One end of a reachability question.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Vm(i64),
    Address(IpAddr),
    Subnet(i64),
    Vpc(i64),
    Zone(i64),
}

impl Place {
    /// Parses `vm:12`, `address:10.1.2.3`, `subnet:4`, `vpc:7`, `zone:1` (a bare address
    /// is an address).
    pub fn parse(text: &str) -> Option<Place> {
        let text = text.trim();
        if let Ok(address) = text.parse() {
            return Some(Place::Address(address));
        }
        let (kind, value) = text.split_once(':')?;
        let id = || value.trim().parse::<i64>().ok();
        Some(match kind.trim() {
            "vm" => Place::Vm(id()?),
            "address" | "ip" => Place::Address(value.trim().parse().ok()?),
            "subnet" => Place::Subnet(id()?),
            "vpc" => Place::Vpc(id()?),
            "zone" => Place::Zone(id()?),
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct QueryInput {
    pub from: Place,
    pub to: Place,
    pub protocol: Protocol,
    pub port: u16,
}

/// One hop as shown.
#[derive(Clone, Debug, Serialize)]
pub struct ShownHop {
    pub stage: Stage,
    pub allowed: bool,
    pub decided_by: Decider,
    /// The deciding rule in words ("sg-web rule 12: HTTPS", "default: ingress denied").
    pub rule: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PairAnswer {
    pub source_vm: i64,
    pub source: IpAddr,
    pub destination_vm: i64,
    pub destination: IpAddr,
    pub allowed: bool,
    pub hops: Vec<ShownHop>,
}

#[derive(Clone, Debug, Serialize)]
pub struct QueryAnswer {
    /// Whether any pair can talk.
    pub allowed: bool,
    pub pairs_asked: usize,
    pub pairs_allowed: usize,
    /// More pairs than were asked (the ends were large).
    pub truncated: bool,
    pub answers: Vec<PairAnswer>,
    pub micros: f64,
}

/// At most this many interfaces per end of a query.
const QUERY_END_LIMIT: usize = 200;

/// What a proposed change would do.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct WhatIfInput {
    pub kind: String,
    /// The object changed or deleted; none for a new one.
    pub id: Option<i64>,
    /// Fields of the proposed object (over the current one's, for a change).
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub delete: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct WhatIfAnswer {
    pub appeared: Vec<ShownFinding>,
    pub disappeared: Vec<ShownFinding>,
    pub rechecked: usize,
}

/// Which groups of a VPC can talk on which ports.
#[derive(Clone, Debug, Serialize)]
pub struct Segmentation {
    pub vpc_id: i64,
    pub groups: Vec<(i64, String, usize)>,
    /// (from group, to group, ports text: empty when nothing passes)
    pub matrix: Vec<(i64, i64, String)>,
}

/// The engine changes that make the network hold `object` as object `id` of `kind`, or,
/// with `None`, no longer hold it. `None` when the kind is not applied alone or the
/// object lacks what the network needs. `vm`: a management endpoint's VM.
fn object_changes(
    network: &Network,
    kind: Kind,
    id: i64,
    object: Option<&WorldObject>,
    vm: Option<&WorldObject>,
) -> Option<Vec<Change>> {
    let changes = match (kind, object) {
        (Kind::SecurityGroupRule, Some(object)) => vec![Change::UpsertGroupRule {
            rule: group_rule(object)?,
        }],
        (Kind::SecurityGroupRule, None) => network
            .group_of_rule(id)
            .map(|group_id| Change::RemoveGroupRule {
                group_id,
                rule_id: id,
            })
            .into_iter()
            .collect(),
        (Kind::Vm, object) => {
            let mut changes: Vec<Change> = network
                .interfaces()
                .filter(|(_, interface)| interface.vm_id == id)
                .map(|(_, interface)| Change::RemoveInterface {
                    vm_id: id,
                    address: interface.address,
                })
                .collect();
            changes.extend(
                object
                    .map(interfaces)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|interface| Change::UpsertInterface { interface }),
            );
            changes
        }
        (Kind::FirewallRule, Some(object)) => vec![Change::UpsertFirewallRule {
            rule: firewall_rule(object)?,
        }],
        (Kind::FirewallRule, None) => network
            .tenant_of_firewall_rule(id)
            .map(|tenant_id| Change::RemoveFirewallRule {
                tenant_id,
                rule_id: id,
            })
            .into_iter()
            .collect(),
        (Kind::VpcPeering, Some(object)) => vec![Change::UpsertPeering {
            peering: peering(object)?,
        }],
        (Kind::VpcPeering, None) => vec![Change::RemovePeering { id }],
        (Kind::ExchangeRule, Some(object)) => vec![Change::UpsertExchange {
            rule: exchange_rule(object)?,
        }],
        (Kind::ExchangeRule, None) => vec![Change::RemoveExchange { id }],
        (Kind::Route, Some(object)) => vec![Change::UpsertRoute {
            route: route(object)?,
        }],
        (Kind::Route, None) => vec![Change::RemoveRoute { id }],
        (Kind::ManagementEndpoint, object) => {
            let mut changes: Vec<Change> = (0..64)
                .map(|position| Change::RemoveEndpoint {
                    id: id * 64 + position,
                })
                .collect();
            if let Some(object) = object {
                changes.extend(
                    endpoints(object, vm)
                        .into_iter()
                        .map(|endpoint| Change::UpsertEndpoint { endpoint }),
                );
            }
            changes
        }
        _ => return None,
    };
    Some(changes)
}

fn ports_words(ports: &[(Protocol, Ports)]) -> String {
    ports
        .iter()
        .map(|(protocol, range)| yunjian_network::engine::ports_text(*protocol, *range))
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_words(set: &PortSet) -> String {
    ports_words(&set.intervals().collect::<Vec<_>>())
}

fn show(finding: Finding, names: &Names) -> ShownFinding {
    let vm = |id: i64| {
        names
            .vms
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("VM {id}"))
    };
    let vpc = |id: i64| {
        names
            .vpcs
            .get(&id)
            .map(|v| v.name.clone())
            .unwrap_or_else(|| format!("VPC {id}"))
    };
    let pod = |id: i64| {
        names
            .pods
            .get(&id)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| format!("pod {id}"))
    };
    let title = match &finding.subject {
        Subject::Path {
            source,
            destination,
            ..
        } => format!(
            "{} ({}, {}) → {} ({}, {})",
            vm(source.vm_id),
            source.address,
            vpc(source.vpc_id),
            vm(destination.vm_id),
            destination.address,
            vpc(destination.vpc_id)
        ),
        Subject::Rule {
            group_id, rule_id, ..
        } => format!(
            "{} / rule {rule_id}{}",
            names
                .groups
                .get(group_id)
                .cloned()
                .unwrap_or_else(|| format!("group {group_id}")),
            names
                .rules
                .get(&format!("group_rule:{rule_id}"))
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        Subject::Host { host_id, vms } => format!(
            "{}: {}",
            names
                .hosts
                .get(host_id)
                .cloned()
                .unwrap_or_else(|| format!("host {host_id}")),
            vms.iter()
                .take(6)
                .map(|id| vm(*id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Subject::Route { route_id, vpc_id } => format!("{} / route {route_id}", vpc(*vpc_id)),
        Subject::Pods {
            cluster,
            source,
            destination,
            ..
        } => format!("{cluster}: {} → {}", pod(*source), pod(*destination)),
        Subject::Namespace {
            cluster,
            namespace,
            pods,
        } => format!(
            "{cluster}/{namespace}: {}",
            pods.iter()
                .take(6)
                .map(|id| pod(*id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Subject::ContainerPolicy {
            policy_id, cluster, ..
        } => format!(
            "{cluster}: NetworkPolicy {}",
            names
                .container_policies
                .get(policy_id)
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| policy_id.to_string())
        ),
        Subject::FirewallRule { rule_id, tenant_id } => format!(
            "{} / {}",
            names
                .tenants
                .get(tenant_id)
                .cloned()
                .unwrap_or_else(|| format!("tenant {tenant_id}")),
            names
                .rules
                .get(&format!("firewall_rule:{rule_id}"))
                .cloned()
                .unwrap_or_else(|| format!("firewall rule {rule_id}"))
        ),
    };
    ShownFinding {
        clauses: finding.invariant.clauses(),
        violation: finding.invariant.violation(),
        ports_text: ports_words(&finding.ports),
        title,
        finding,
        pairs: 1,
    }
}

/// A finding as shown: its example explained against the network, with names.
fn explained(network: &Network, names: &Names, finding: &Finding, pairs: usize) -> ShownFinding {
    let mut finding = finding.clone();
    checks::explain(network, &mut finding);
    ShownFinding {
        pairs,
        ..show(finding, names)
    }
}

/// What changed between two full verifications (findings compared by value, each
/// keyed once by its Debug text).
fn difference(before: Vec<&Finding>, after: Vec<&Finding>) -> Delta {
    let keyed = |findings: Vec<&Finding>| -> BTreeMap<String, Finding> {
        findings
            .into_iter()
            .map(|finding| (format!("{finding:?}"), finding.clone()))
            .collect()
    };
    let (before, after) = (keyed(before), keyed(after));
    let only = |one: &BTreeMap<String, Finding>, other: &BTreeMap<String, Finding>| {
        one.iter()
            .filter(|(key, _)| !other.contains_key(*key))
            .map(|(_, finding)| finding.clone())
            .collect()
    };
    Delta {
        appeared: only(&after, &before),
        disappeared: only(&before, &after),
        rechecked: 0,
    }
}

/// What makes path findings the same for people: invariant, the two VPCs (or a
/// cluster's two namespaces), reason and ports. Other findings stand alone.
/// Invariant, the two ends, reason, ports.
type GroupKey = (Invariant, String, String, String, Vec<(Protocol, Ports)>);

fn group_key(finding: &Finding) -> Option<GroupKey> {
    let (from, to) = match &finding.subject {
        Subject::Path {
            source,
            destination,
            ..
        } => (
            format!("vpc:{}", source.vpc_id),
            format!("vpc:{}", destination.vpc_id),
        ),
        Subject::Pods {
            cluster,
            source_namespace,
            destination_namespace,
            ..
        } => (
            format!("{cluster}/{source_namespace}"),
            format!("{cluster}/{destination_namespace}"),
        ),
        _ => return None,
    };
    Some((
        finding.invariant,
        from,
        to,
        finding.reason.to_string(),
        finding.ports.clone(),
    ))
}

/// Collapses path findings between the same two VPCs (see `group_key`), keeping order
/// of first appearance; each kept finding counts the pairs it stands for.
fn grouped<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<(&'a Finding, usize)> {
    let mut out: Vec<(&Finding, usize)> = Vec::new();
    let mut at: HashMap<GroupKey, usize> = HashMap::new();
    for finding in findings {
        // A path finding already holds for every pair of its two interface classes.
        let pairs = match &finding.subject {
            Subject::Path {
                sources,
                destinations,
                ..
            } => sources.len() * destinations.len(),
            Subject::Pods {
                sources,
                destinations,
                ..
            } => sources.len() * destinations.len(),
            _ => 1,
        };
        match group_key(finding) {
            Some(key) => match at.get(&key) {
                Some(index) => out[*index].1 += pairs,
                None => {
                    at.insert(key, out.len());
                    out.push((finding, pairs));
                }
            },
            None => out.push((finding, pairs)),
        }
    }
    out
}

/// The deciding rule of a hop in words.
fn hop_words(decider: &Decider, stage: Stage, names: &Names) -> String {
    let described = |key: String, label: &str, id: i64| {
        let text = names.rules.get(&key).filter(|d| !d.is_empty());
        match text {
            Some(text) => format!("{label} {id}: {text}"),
            None => format!("{label} {id}"),
        }
    };
    match decider {
        Decider::GroupRule(id) => described(format!("group_rule:{id}"), "security-group rule", *id),
        Decider::AclRule(id) => described(format!("acl_rule:{id}"), "ACL rule", *id),
        Decider::FirewallRule(id) => described(format!("firewall_rule:{id}"), "firewall rule", *id),
        Decider::Peering(id) => format!("peering {id}"),
        Decider::Route(id) => format!("route {id}"),
        Decider::Default => match stage {
            Stage::SourceGroups => "default: egress allowed".into(),
            Stage::DestinationGroups => "default: ingress denied".into(),
            Stage::Peering => "no route: the VPCs are not peered".into(),
            _ => "default: no rule matched, denied".into(),
        },
    }
}

fn show_hops(verdict: &Verdict, names: &Names) -> Vec<ShownHop> {
    verdict
        .hops
        .iter()
        .map(|hop| ShownHop {
            stage: hop.stage,
            allowed: hop.allowed,
            decided_by: hop.decided_by.clone(),
            rule: hop_words(&hop.decided_by, hop.stage, names),
        })
        .collect()
}

/// Who may see what: every VPC for the platform's roles, the tenant's own, the
/// provider's own.
#[derive(Clone, Copy, Debug)]
enum Visibility {
    All,
    Tenant(i64),
    Provider(i64),
    Nothing,
}

impl Visibility {
    fn of(context: &Context) -> Visibility {
        match read_scope(&context.principal, Kind::Vpc) {
            ReadScope::All => Visibility::All,
            ReadScope::Column {
                column: "tenant_id",
                id,
            } => Visibility::Tenant(id),
            ReadScope::Column {
                column: "provider_id",
                id,
            } => Visibility::Provider(id),
            _ => Visibility::Nothing,
        }
    }

    fn vpc(self, names: &Names, vpc: i64) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Tenant(tenant) => {
                names.vpcs.get(&vpc).is_some_and(|v| v.tenant_id == tenant)
            }
            Visibility::Provider(provider) => names
                .vpcs
                .get(&vpc)
                .is_some_and(|v| v.provider_id == provider),
            Visibility::Nothing => false,
        }
    }

    fn finding(self, names: &Names, finding: &Finding) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Tenant(tenant) => finding.tenants.contains(&tenant),
            Visibility::Provider(_) => finding.vpcs.iter().any(|vpc| self.vpc(names, *vpc)),
            Visibility::Nothing => false,
        }
    }
}

fn summary(finding: &Finding, names: &Names) -> serde_json::Value {
    let shown = show(finding.clone(), names);
    serde_json::json!({
        "invariant": finding.invariant.as_str(),
        "title": shown.title,
        "ports": shown.ports_text,
        "reason": finding.reason,
    })
}

impl App {
    /// The verified network, current with the ledger: loaded on first use, then kept up
    /// by applying the changes the ledger records since.
    async fn network_current(
        &self,
    ) -> Result<tokio::sync::RwLockReadGuard<'_, Option<Loaded>>, AppError> {
        let head = self
            .store()
            .ledger_head()
            .await?
            .map_or(0, |head| head.size);
        {
            let state = self.network.state.read().await;
            if state.as_ref().is_some_and(|loaded| loaded.stamp >= head) {
                return Ok(state);
            }
        }
        let mut state = self.network.state.write().await;
        let stamp = state.as_ref().map(|loaded| loaded.stamp);
        match stamp {
            Some(stamp) if stamp >= head => {}
            Some(stamp) if head - stamp <= u64::from(CATCH_UP_LIMIT) => {
                let loaded = state.as_mut().ok_or(AppError::NotFound)?;
                if !self.catch_up(loaded, head).await? {
                    *state = Some(self.load_network(head, Some(loaded)).await?);
                }
            }
            _ => {
                let previous = state.take();
                *state = Some(self.load_network(head, previous.as_ref()).await?);
            }
        }
        Ok(state.downgrade())
    }

    /// Loads and verifies everything; with a previous state, logs what the records in
    /// between did to the findings (attributed to the last relevant one).
    async fn load_network(&self, head: u64, previous: Option<&Loaded>) -> Result<Loaded, AppError> {
        let started = Instant::now();
        let (model, names) = load_model(self.store()).await?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let verifier = tokio::task::spawn_blocking(move || Verifier::new(Network::compile(model)))
            .await
            .map_err(|error| AppError::Internal(format!("network verification: {error}")))?;
        let verify_ms = started.elapsed().as_secs_f64() * 1e3;
        if let Some(previous) = previous {
            let records = self
                .store()
                .audit_range(previous.stamp, head, CATCH_UP_LIMIT)
                .await?;
            if let Some(last) = records.iter().rev().find(|record| relevant(record)) {
                let delta = difference(previous.verifier.findings(), verifier.findings());
                let change = log_row(last, &delta, &names);
                self.store().record_network_changes(&[change]).await?;
            }
        }
        Ok(Loaded {
            verifier,
            stamp: head,
            names,
            load_ms,
            verify_ms,
        })
    }

    /// Applies the audited changes since the state's stamp one by one. `false` when a
    /// record needs the whole model reloaded.
    async fn catch_up(&self, loaded: &mut Loaded, head: u64) -> Result<bool, AppError> {
        let records = self
            .store()
            .audit_range(loaded.stamp, head, CATCH_UP_LIMIT)
            .await?;
        let mut log = Vec::new();
        for record in &records {
            if !relevant(record) {
                continue;
            }
            let kind = record.record.object_kind.as_deref().and_then(Kind::parse);
            let (Some(kind), Some(id)) = (kind, record.record.object_id) else {
                return Ok(false);
            };
            if !INCREMENTAL.contains(&kind) {
                return Ok(false);
            }
            let Some(changes) = self.changes_for(loaded, kind, id).await? else {
                return Ok(false);
            };
            let mut delta = Delta::default();
            for change in &changes {
                let step = loaded.verifier.apply(change);
                delta.appeared.extend(step.appeared);
                delta.disappeared.extend(step.disappeared);
                delta.rechecked += step.rechecked;
            }
            log.push(log_row(record, &delta, &loaded.names));
        }
        loaded.stamp = records
            .last()
            .map_or(head, |record| record.seq + 1)
            .max(head);
        self.store().record_network_changes(&log).await?;
        Ok(true)
    }

    /// The engine changes that bring one object up to date (its current row, or its
    /// removal). `None`: cannot be applied alone.
    async fn changes_for(
        &self,
        loaded: &mut Loaded,
        kind: Kind,
        id: i64,
    ) -> Result<Option<Vec<Change>>, AppError> {
        let current = self.store().get(kind, id, ReadScope::All).await?;
        if let Some(object) = &current {
            // Keep the names the findings show current.
            match kind {
                Kind::SecurityGroupRule => {
                    loaded.names.rules.insert(
                        format!("group_rule:{id}"),
                        text(&object.values, "description").unwrap_or("").to_owned(),
                    );
                }
                Kind::FirewallRule => {
                    loaded
                        .names
                        .rules
                        .insert(format!("firewall_rule:{id}"), name_of(object));
                }
                Kind::Vm => {
                    loaded.names.vms.insert(id, name_of(object));
                }
                _ => {}
            }
        }
        let vm = self.endpoint_vm(kind, current.as_ref()).await?;
        Ok(object_changes(
            loaded.verifier.network(),
            kind,
            id,
            current.as_ref(),
            vm.as_ref(),
        ))
    }

    /// A management endpoint's VM (its addresses are the endpoint's).
    async fn endpoint_vm(
        &self,
        kind: Kind,
        object: Option<&WorldObject>,
    ) -> Result<Option<WorldObject>, AppError> {
        match (kind, object.and_then(|object| int(&object.values, "vm_id"))) {
            (Kind::ManagementEndpoint, Some(vm)) => {
                Ok(self.store().get(Kind::Vm, vm, ReadScope::All).await?)
            }
            _ => Ok(None),
        }
    }

    async fn authorize_network(
        &self,
        context: &Context,
        audit_action: &str,
    ) -> Result<(), AppError> {
        let scope = read_scope(&context.principal, Kind::SecurityGroup);
        self.authorize_world(
            context,
            Action::WorldRead,
            audit_action,
            Kind::SecurityGroup,
            scope,
            crate::world::WorldFacts::default(),
        )
        .await
        .map(|_| ())
    }

    /// Findings in the caller's scope, filtered, with examples explained.
    pub async fn network_findings(
        &self,
        context: &Context,
        filter: &FindingsFilter,
    ) -> Result<FindingsView, AppError> {
        self.authorize_network(context, "network.findings").await?;
        let visibility = Visibility::of(context);
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        let names = &loaded.names;
        let mut by_invariant: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut by_tenant: BTreeMap<i64, usize> = BTreeMap::new();
        let mut matching: Vec<(&Finding, usize)> = Vec::new();
        for (finding, pairs) in grouped(loaded.verifier.findings()) {
            if !visibility.finding(names, finding) {
                continue;
            }
            if filter
                .tenant_id
                .is_some_and(|tenant| !finding.tenants.contains(&tenant))
            {
                continue;
            }
            if filter
                .vpc_id
                .is_some_and(|vpc| !finding.vpcs.contains(&vpc))
            {
                continue;
            }
            *by_invariant.entry(finding.invariant.as_str()).or_default() += 1;
            for tenant in &finding.tenants {
                *by_tenant.entry(*tenant).or_default() += 1;
            }
            if filter
                .invariant
                .is_some_and(|invariant| finding.invariant != invariant)
            {
                continue;
            }
            matching.push((finding, pairs));
        }
        // Violations first, then by invariant.
        matching.sort_by_key(|(finding, _)| (!finding.invariant.violation(), finding.invariant));
        let total = matching.len();
        let limit = if filter.limit == 0 {
            200
        } else {
            filter.limit.min(5_000)
        };
        let items = matching
            .into_iter()
            .take(limit)
            .map(|(finding, pairs)| explained(loaded.verifier.network(), names, finding, pairs))
            .collect();
        Ok(FindingsView {
            items,
            total,
            by_invariant,
            by_tenant,
            stamp: loaded.stamp,
            load_ms: loaded.load_ms,
            verify_ms: loaded.verify_ms,
            size: loaded.verifier.network().size(),
            names: names.clone(),
        })
    }

    /// "Can A reach B on this port": every pair of interfaces of the two ends (at most
    /// 200 each), with the hops and deciding rules of each.
    pub async fn network_query(
        &self,
        context: &Context,
        input: &QueryInput,
    ) -> Result<QueryAnswer, AppError> {
        self.authorize_network(context, "network.query").await?;
        if input.protocol == Protocol::Any {
            return Err(AppError::Invalid(vec![
                yunjian_core::value::FieldError::new(
                    "protocol",
                    "invalid",
                    "a flow has one protocol: tcp, udp or icmp",
                ),
            ]));
        }
        let visibility = Visibility::of(context);
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        let network = loaded.verifier.network();
        let resolve = |place: &Place| -> Result<(Vec<usize>, bool), AppError> {
            let mut found: Vec<usize> = network
                .interfaces()
                .filter(|(_, interface)| match place {
                    Place::Vm(id) => interface.vm_id == *id,
                    Place::Address(address) => interface.address == *address,
                    Place::Subnet(id) => interface.subnet_id == *id,
                    Place::Vpc(id) => interface.vpc_id == *id,
                    Place::Zone(id) => network
                        .vpc(interface.vpc_id)
                        .is_some_and(|vpc| vpc.zone_id == *id),
                })
                .filter(|(_, interface)| visibility.vpc(&loaded.names, interface.vpc_id))
                .map(|(index, _)| index)
                .collect();
            // Outside the caller's scope is the same answer as absent.
            if found.is_empty() {
                return Err(AppError::NotFound);
            }
            let truncated = found.len() > QUERY_END_LIMIT;
            found.truncate(QUERY_END_LIMIT);
            Ok((found, truncated))
        };
        let (sources, cut_a) = resolve(&input.from)?;
        let (destinations, cut_b) = resolve(&input.to)?;
        let started = Instant::now();
        let mut answers = Vec::new();
        let mut allowed_count = 0;
        let mut asked = 0;
        for &a in &sources {
            for &b in &destinations {
                if a == b {
                    continue;
                }
                let Some(verdict) = network.decide_between(a, b, input.protocol, input.port) else {
                    continue;
                };
                asked += 1;
                if verdict.allowed {
                    allowed_count += 1;
                }
                let (Some(from), Some(to)) = (network.interface_at(a), network.interface_at(b))
                else {
                    continue;
                };
                answers.push(PairAnswer {
                    source_vm: from.vm_id,
                    source: from.address,
                    destination_vm: to.vm_id,
                    destination: to.address,
                    allowed: verdict.allowed,
                    hops: show_hops(&verdict, &loaded.names),
                });
            }
        }
        let micros = started.elapsed().as_secs_f64() * 1e6;
        answers.sort_by_key(|answer| !answer.allowed);
        answers.truncate(100);
        Ok(QueryAnswer {
            allowed: allowed_count > 0,
            pairs_asked: asked,
            pairs_allowed: allowed_count,
            truncated: cut_a || cut_b,
            answers,
            micros,
        })
    }

    /// What a proposed change to a network object would do to the findings, without
    /// doing it. Asked with the same permission the change itself needs.
    pub async fn network_what_if(
        &self,
        context: &Context,
        input: &WhatIfInput,
    ) -> Result<WhatIfAnswer, AppError> {
        let kind = Kind::parse(&input.kind)
            .filter(|kind| INCREMENTAL.contains(kind))
            .ok_or_else(|| {
                AppError::Invalid(vec![yunjian_core::value::FieldError::new(
                    "kind",
                    "unsupported",
                    "what-if takes security_group_rule, vm, firewall_rule, vpc_peering, exchange_rule, route or management_endpoint",
                )])
            })?;
        let scope = read_scope(&context.principal, kind);
        let action = match (input.id, input.delete) {
            (None, _) => Action::WorldCreate,
            (Some(_), false) => Action::WorldUpdate,
            (Some(_), true) => Action::WorldDelete,
        };
        self.authorize_world(
            context,
            action,
            "network.what_if",
            kind,
            scope,
            crate::world::WorldFacts::default(),
        )
        .await?;
        // The object as it would be: the current one (in the caller's scope) with the
        // proposed fields over it.
        let current = match input.id {
            Some(id) => Some(
                self.store()
                    .get(kind, id, scope)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        let proposed = if input.delete {
            None
        } else {
            let mut object = current.clone().unwrap_or(WorldObject {
                kind,
                id: input.id.unwrap_or(i64::MAX / 128),
                values: Values::new(),
                created_at_ns: 0,
                updated_at_ns: 0,
                revision: 0,
            });
            let mode = if current.is_some() {
                yunjian_core::value::InputMode::Update
            } else {
                yunjian_core::value::InputMode::Create
            };
            let parsed = yunjian_core::value::parse_input(kind.spec(), &input.values, mode)
                .map_err(AppError::Invalid)?;
            // References resolve in the caller's scope, as the write itself would.
            for field in kind.spec().input_fields() {
                let ids = match (field.ty, parsed.get(field.name)) {
                    (yunjian_core::schema::FieldType::Ref(target), Some(Value::Int(id))) => {
                        vec![(target, *id)]
                    }
                    (yunjian_core::schema::FieldType::RefList(link), Some(Value::IdList(ids))) => {
                        ids.iter().map(|id| (link.target, *id)).collect()
                    }
                    _ => Vec::new(),
                };
                for (target, id) in ids {
                    let target_scope = read_scope(&context.principal, target);
                    if self.store().get(target, id, target_scope).await?.is_none() {
                        return Err(AppError::Invalid(vec![
                            yunjian_core::value::FieldError::new(
                                field.name,
                                "unknown_reference",
                                format!(
                                    "'{}': there is no {} with id {id}",
                                    field.name,
                                    target.as_str()
                                ),
                            ),
                        ]));
                    }
                }
            }
            object.values.extend(parsed);
            Some(object)
        };
        let visibility = Visibility::of(context);
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        let network = loaded.verifier.network();
        let id = input.id.unwrap_or(i64::MAX / 128);
        let vm = self.endpoint_vm(kind, proposed.as_ref()).await?;
        let changes =
            object_changes(network, kind, id, proposed.as_ref(), vm.as_ref()).unwrap_or_default();
        if changes.is_empty() {
            return Err(AppError::Invalid(
                vec![yunjian_core::value::FieldError::new(
                "values",
                "incomplete",
                "the proposed object lacks fields the network needs (addresses, CIDRs, references)",
            )],
            ));
        }
        let delta = loaded.verifier.what_if(&changes);
        let shown = |findings: Vec<Finding>| {
            findings
                .into_iter()
                .filter(|finding| visibility.finding(&loaded.names, finding))
                .map(|finding| explained(network, &loaded.names, &finding, 1))
                .collect()
        };
        Ok(WhatIfAnswer {
            appeared: shown(delta.appeared),
            disappeared: shown(delta.disappeared),
            rechecked: delta.rechecked,
        })
    }

    /// The policy-change log: a tenant's own rows, everyone's for the platform's roles.
    pub async fn network_changes(
        &self,
        context: &Context,
        limit: i64,
    ) -> Result<Vec<NetworkChange>, AppError> {
        self.authorize_network(context, "network.changes").await?;
        // Bring the log up to date with the ledger first.
        drop(self.network_current().await?);
        let tenant = match Visibility::of(context) {
            Visibility::All => None,
            Visibility::Tenant(tenant) => Some(tenant),
            Visibility::Provider(_) | Visibility::Nothing => {
                return Err(AppError::Forbidden(
                    "the policy-change log is the tenants' and the platform's".into(),
                ))
            }
        };
        Ok(self
            .store()
            .network_changes(tenant, limit.clamp(1, 1_000))
            .await?)
    }

    /// Which groups of a VPC can talk to which, on which ports (one member of each
    /// group stands for it: group rules are the same for every member).
    pub async fn network_segmentation(
        &self,
        context: &Context,
        vpc_id: i64,
    ) -> Result<Segmentation, AppError> {
        self.authorize_network(context, "network.segmentation")
            .await?;
        let visibility = Visibility::of(context);
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        if !visibility.vpc(&loaded.names, vpc_id) {
            return Err(AppError::NotFound);
        }
        let network = loaded.verifier.network();
        let mut representative: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
        for index in network.in_vpc(vpc_id) {
            let Some(interface) = network.interface_at(index) else {
                continue;
            };
            for group in &interface.groups {
                let entry = representative.entry(*group).or_insert((index, 0));
                entry.1 += 1;
            }
        }
        let groups: Vec<(i64, String, usize)> = representative
            .iter()
            .map(|(group, (_, members))| {
                (
                    *group,
                    loaded
                        .names
                        .groups
                        .get(group)
                        .cloned()
                        .unwrap_or_else(|| format!("group {group}")),
                    *members,
                )
            })
            .collect();
        let mut matrix = Vec::new();
        for (from, (a, _)) in &representative {
            for (to, (b, _)) in &representative {
                let words = if a == b {
                    "—".to_owned()
                } else {
                    set_words(&network.allowed_between(*a, *b).allowed)
                };
                matrix.push((*from, *to, words));
            }
        }
        Ok(Segmentation {
            vpc_id,
            groups,
            matrix,
        })
    }

    /// The network's verification state for the offline check and the console's
    /// summary: every finding, unscoped (callers scope).
    pub async fn network_check_all(
        &self,
    ) -> Result<(Vec<ShownFinding>, FindingsSummary), AppError> {
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        let findings: Vec<ShownFinding> = grouped(loaded.verifier.findings())
            .into_iter()
            .map(|(finding, pairs)| {
                explained(loaded.verifier.network(), &loaded.names, finding, pairs)
            })
            .collect();
        Ok((
            findings,
            FindingsSummary {
                size: loaded.verifier.network().size(),
                load_ms: loaded.load_ms,
                verify_ms: loaded.verify_ms,
            },
        ))
    }

    /// Every violation, unscoped, for the compliance engine's `network.isolation`.
    pub(crate) async fn network_violations(
        &self,
    ) -> Result<Vec<yunjian_compliance::NetworkViolation>, AppError> {
        let state = self.network_current().await?;
        let loaded = state.as_ref().ok_or(AppError::NotFound)?;
        Ok(grouped(loaded.verifier.findings())
            .into_iter()
            .filter(|(finding, _)| finding.invariant.violation())
            .map(|(finding, _)| {
                let shown = show(finding.clone(), &loaded.names);
                yunjian_compliance::NetworkViolation {
                    invariant: finding.invariant.as_str().to_owned(),
                    tenants: finding.tenants.clone(),
                    vpcs: finding.vpcs.clone(),
                    providers: container_providers(finding, &loaded.names),
                    title: shown.title,
                    ports: shown.ports_text,
                    reason: finding.reason.to_string(),
                }
            })
            .collect())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FindingsSummary {
    pub size: yunjian_network::engine::Size,
    pub load_ms: f64,
    pub verify_ms: f64,
}

/// Whether an audit record may have changed the network.
fn relevant(record: &yunjian_store::AuditRecord) -> bool {
    if record.record.outcome != yunjian_core::audit::AuditOutcome::Succeeded {
        return false;
    }
    let action = record.record.action.as_str();
    if matches!(
        action,
        "provider.sync.commit" | "provider.project.map" | "demo.load"
    ) {
        return true;
    }
    record
        .record
        .object_kind
        .as_deref()
        .and_then(Kind::parse)
        .is_some_and(|kind| INCREMENTAL.contains(&kind) || STRUCTURAL.contains(&kind))
}

fn log_row(record: &yunjian_store::AuditRecord, delta: &Delta, names: &Names) -> NetworkChange {
    let detail = serde_json::json!({
        "appeared": delta.appeared.iter().take(20).map(|f| summary(f, names)).collect::<Vec<_>>(),
        "disappeared": delta.disappeared.iter().take(20).map(|f| summary(f, names)).collect::<Vec<_>>(),
        "rechecked": delta.rechecked,
    });
    NetworkChange {
        audit_seq: record.seq as i64,
        at_ns: record.record.at_ns,
        kind: record.record.object_kind.clone().unwrap_or_default(),
        object_id: record.record.object_id,
        action: record.record.action.clone(),
        tenant_id: record.record.tenant_id,
        appeared: delta.appeared.len() as i64,
        disappeared: delta.disappeared.len() as i64,
        detail: detail.to_string(),
    }
}
