//! The guide's isolation invariants, each checked over all flows, not samples.
//!
//! - Paths between VPCs exist only along peerings, so every cross-VPC question is asked
//!   of the interface pairs of peered VPCs, each pair symbolically over all protocols
//!   and ports (`Network::allowed_between`): two tenants' VPCs (5.2.2, 7.5.9.5, 7.5.12)
//!   only where an exchange rule approves and both tenants' firewalls explicitly allow;
//!   two zones never except through the zones' gateway (5.2.2); a tenant's management
//!   endpoint never into another tenant's VPC (7.2.2.3).
//! - Hosts: an internet-zone VM shares its host with no VM of another zone and runs on
//!   a host of the internet zone (7.1.2).
//! - Security groups, rule by rule (east-west, 5.3.5, 7.2.4.2): remote-management ports
//!   open to 0.0.0.0/0, any-to-any allows, rules shadowed by the earlier rules of their
//!   group together, rules made redundant by later rules of the same action.
//! - Routes through NAT, VPN, the internet or a routing protocol: the paths they carry
//!   are reported "not verifiable", never assumed safe.
//!
//! Each violation names a concrete example flow, the ports it stands for and the rules
//! that decided the example at every hop.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::engine::{InterfaceIndex, Network, Verdict};
use crate::model::{Action, Direction, Flow, GroupRule, Pod, Ports, Protocol, Remote};
use crate::ports::PortSet;

/// What a violation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Two tenants' VPCs reach each other where no exchange rule allows it, or not
    /// through an explicit firewall allow on both sides (5.2.2, 7.5.12).
    CrossTenantPath,
    /// Two zones meet other than through the zones' gateway (5.2.2).
    ZoneSeparation,
    /// A tenant's remote-management endpoint reaches an address outside the tenant's
    /// VPCs (7.2.2.3).
    ManagementReach,
    /// An internet-zone VM on a host shared with another zone, or on a host of another
    /// zone (7.1.2).
    SharedHost,
    /// A security group lets the whole internet reach a remote-management port
    /// (SSH, RDP, Telnet, WinRM, SMB, databases' ports) (7.2.2.3, 7.2.4.2).
    ManagementOpenToAll,
    /// A rule that allows every protocol and port from everywhere (5.3.5, 7.2.4.2).
    AnyToAny,
    /// A rule that can never decide a flow: the earlier rules of its group and
    /// direction together match everything it matches.
    Shadowed,
    /// A rule whose removal changes nothing: later rules of the same action decide
    /// everything it decides the same way.
    Redundant,
    /// Paths the engine cannot model exactly (NAT, VPN, the internet, dynamic routes).
    NotVerifiable,
    /// Pods of two tenants in one container cluster reach each other (5.4.3, 7.5.9.5):
    /// container east-west traffic is not isolated like the cloud's.
    ContainerCrossTenant,
    /// Pods no NetworkPolicy isolates for ingress: every pod of the cluster reaches
    /// them (5.4.3 asks for micro-segmentation).
    ContainerUnsegmented,
}

impl Invariant {
    pub const ALL: [Invariant; 11] = [
        Invariant::CrossTenantPath,
        Invariant::ZoneSeparation,
        Invariant::ManagementReach,
        Invariant::SharedHost,
        Invariant::ManagementOpenToAll,
        Invariant::AnyToAny,
        Invariant::Shadowed,
        Invariant::Redundant,
        Invariant::NotVerifiable,
        Invariant::ContainerCrossTenant,
        Invariant::ContainerUnsegmented,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::CrossTenantPath => "cross_tenant_path",
            Invariant::ZoneSeparation => "zone_separation",
            Invariant::ManagementReach => "management_reach",
            Invariant::SharedHost => "shared_host",
            Invariant::ManagementOpenToAll => "management_open_to_all",
            Invariant::AnyToAny => "any_to_any",
            Invariant::Shadowed => "shadowed",
            Invariant::Redundant => "redundant",
            Invariant::NotVerifiable => "not_verifiable",
            Invariant::ContainerCrossTenant => "container_cross_tenant",
            Invariant::ContainerUnsegmented => "container_unsegmented",
        }
    }

    pub fn parse(text: &str) -> Option<Invariant> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.as_str() == text)
    }

    /// The guide's clauses the invariant proves.
    pub fn clauses(self) -> &'static str {
        match self {
            Invariant::CrossTenantPath => "5.2.2, 7.5.9.5, 7.5.12",
            Invariant::ZoneSeparation => "5.2.2",
            Invariant::ManagementReach => "7.2.2.3",
            Invariant::SharedHost => "7.1.2",
            Invariant::ManagementOpenToAll => "7.2.2.3, 7.2.4.2",
            Invariant::AnyToAny | Invariant::Shadowed | Invariant::Redundant => "5.3.5, 7.2.4.2",
            Invariant::NotVerifiable => "7.5.11, 7.5.12",
            Invariant::ContainerCrossTenant => "5.4.3, 7.5.9.5",
            Invariant::ContainerUnsegmented => "5.4.3",
        }
    }

    /// Whether the finding is a violation (the rest are hygiene or the model's limits).
    pub fn violation(self) -> bool {
        !matches!(
            self,
            Invariant::Shadowed | Invariant::Redundant | Invariant::NotVerifiable
        )
    }
}

/// Remote-management ports the guide's "remote management" covers.
pub const MANAGEMENT_PORTS: [u16; 7] = [22, 23, 135, 445, 3389, 5985, 5986];
/// Databases' own ports: their administration is remote management too, and none of
/// them belongs on the internet.
pub const DATABASE_PORTS: [u16; 9] = [1433, 1521, 3306, 5236, 5432, 6379, 9200, 11211, 27017];

/// One end of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct End {
    pub vm_id: i64,
    pub address: IpAddr,
    pub vpc_id: i64,
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Subject {
    /// A path between two VPCs: the example ends, and every source and destination
    /// interface the finding holds for (every pair of them: interfaces that no rule,
    /// ACL, firewall or route tells apart are one class, checked once).
    Path {
        source: End,
        destination: End,
        sources: Vec<End>,
        destinations: Vec<End>,
    },
    Rule {
        group_id: i64,
        rule_id: i64,
        by: Vec<i64>,
    },
    Host {
        host_id: i64,
        vms: Vec<i64>,
    },
    Route {
        route_id: i64,
        vpc_id: i64,
    },
    FirewallRule {
        rule_id: i64,
        tenant_id: i64,
    },
    /// Pods of a cluster: the example pair, every source and destination pod the
    /// finding holds for, and the NetworkPolicies that allowed it (none: no policy
    /// isolates them).
    Pods {
        cluster: String,
        source_namespace: String,
        destination_namespace: String,
        source: i64,
        destination: i64,
        sources: Vec<i64>,
        destinations: Vec<i64>,
        policies: Vec<i64>,
    },
    /// A namespace's pods no policy isolates.
    Namespace {
        cluster: String,
        namespace: String,
        pods: Vec<i64>,
    },
    /// A NetworkPolicy the model had to approximate or could not read.
    ContainerPolicy {
        policy_id: i64,
        cluster: String,
        namespace: String,
    },
}

/// One finding: which invariant, about what, whom it concerns, and the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub invariant: Invariant,
    pub subject: Subject,
    /// The tenants concerned (who may see it).
    pub tenants: Vec<i64>,
    pub vpcs: Vec<i64>,
    /// A concrete flow that shows it (paths).
    pub example: Option<Flow>,
    /// Every protocol and port range it holds for (paths: every flow in them violates;
    /// rules: what the rule matches).
    pub ports: Vec<(Protocol, Ports)>,
    pub reason: Cow<'static, str>,
    /// The example's decision, hop by hop: filled in by `explain` when the finding is
    /// shown (it is a function of the network, and computing it for every stored finding
    /// would double a full run).
    pub verdict: Option<Verdict>,
}

/// Fills in the example's decision, hop by hop, from the network the finding came from.
pub fn explain(network: &Network, finding: &mut Finding) {
    let (
        Subject::Path {
            source,
            destination,
            ..
        },
        Some(flow),
    ) = (&finding.subject, finding.example)
    else {
        return;
    };
    let find = |end: &End| {
        network
            .at_address(end.address)
            .iter()
            .copied()
            .find(|index| {
                network
                    .interface_at(*index)
                    .is_some_and(|interface| interface.vm_id == end.vm_id)
            })
    };
    if let (Some(from), Some(to)) = (find(source), find(destination)) {
        finding.verdict = network.decide_between(from, to, flow.protocol, flow.port);
    }
}

/// Where a finding lives, for re-checking only what a change can affect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Every path from one VPC to a VPC peered with it.
    Path(i64, i64),
    Group(i64),
    Host(i64),
    Route(i64),
    /// A firewall rule that names an application (layer 7).
    FirewallRule(i64),
    /// A container cluster (its position among the network's clusters).
    Cluster(u32),
}

/// The findings of one key.
pub fn check(network: &Network, key: Key) -> Vec<Finding> {
    match key {
        Key::Path(from, to) => vpc_path(network, from, to),
        Key::Group(group) => group_rules_of(network, group),
        Key::Host(host) => host_findings(network, host),
        Key::Route(route) => route_findings(network, route),
        Key::FirewallRule(rule) => layer7_findings(network, rule),
        Key::Cluster(index) => network
            .clusters()
            .get(index as usize)
            .map(cluster_findings)
            .unwrap_or_default(),
    }
}

/// A cluster's findings: every two pod classes of different tenants that can connect,
/// every namespace's pods no policy isolates, every policy taken approximately.
pub fn cluster_findings(cluster: &crate::containers::Cluster) -> Vec<Finding> {
    use crate::containers::{applying, classes, connection_between};
    let mut findings = Vec::new();
    let classes = classes(cluster);
    let applies: Vec<Vec<usize>> = classes
        .iter()
        .map(|class| applying(&cluster.policies, class[0]))
        .collect();
    // Per destination class, the source classes of one namespace that reach it the
    // same way (ports and policies) are one finding: it holds for every pair of its
    // sources and destinations.
    type Same = (i64, String, Vec<(Protocol, Ports)>, Vec<i64>);
    for (destination, destination_applying) in classes.iter().zip(&applies) {
        let to = destination[0];
        let mut same: BTreeMap<Same, (&Pod, Vec<i64>)> = BTreeMap::new();
        for (source, source_applying) in classes.iter().zip(&applies) {
            let from = source[0];
            if from.tenant_id == to.tenant_id {
                continue;
            }
            let (set, policies) = connection_between(
                &cluster.policies,
                (from, source_applying),
                (to, destination_applying),
            );
            let ports: Vec<(Protocol, Ports)> = set.intervals().collect();
            if ports.is_empty() {
                continue;
            }
            let entry = same
                .entry((from.tenant_id, from.namespace.clone(), ports, policies))
                .or_insert((from, Vec::new()));
            entry.1.extend(source.iter().map(|pod| pod.id));
        }
        for ((_, _, ports, policies), (from, mut sources)) in same {
            sources.sort_unstable();
            let Some((protocol, first)) = ports.first().copied() else {
                continue;
            };
            let example = from.address.zip(to.address).map(|(src, dst)| Flow {
                src,
                dst,
                protocol,
                port: first.from,
            });
            let mut tenants = vec![from.tenant_id, to.tenant_id];
            tenants.sort_unstable();
            findings.push(Finding {
                invariant: Invariant::ContainerCrossTenant,
                subject: Subject::Pods {
                    cluster: cluster.name.clone(),
                    source_namespace: from.namespace.clone(),
                    destination_namespace: to.namespace.clone(),
                    source: from.id,
                    destination: to.id,
                    sources,
                    destinations: destination.iter().map(|pod| pod.id).collect(),
                    policies: policies.clone(),
                },
                tenants,
                vpcs: Vec::new(),
                example,
                ports,
                reason: Cow::Borrowed(if policies.is_empty() {
                    "no NetworkPolicy isolates these pods from another tenant's"
                } else {
                    "NetworkPolicies let another tenant's pods in"
                }),
                verdict: None,
            });
        }
    }
    // Isolation is a class's (the policies that apply to it are), not each pod's.
    let mut open: BTreeMap<(&str, i64), Vec<i64>> = BTreeMap::new();
    for (class, applying) in classes.iter().zip(&applies) {
        let isolated = applying
            .iter()
            .any(|index| cluster.policies[*index].isolates_ingress());
        if !isolated {
            open.entry((class[0].namespace.as_str(), class[0].tenant_id))
                .or_default()
                .extend(class.iter().map(|pod| pod.id));
        }
    }
    for pods in open.values_mut() {
        pods.sort_unstable();
    }
    for ((namespace, tenant), pods) in open {
        findings.push(Finding {
            invariant: Invariant::ContainerUnsegmented,
            subject: Subject::Namespace {
                cluster: cluster.name.clone(),
                namespace: namespace.to_owned(),
                pods,
            },
            tenants: vec![tenant],
            vpcs: Vec::new(),
            example: None,
            ports: vec![(Protocol::Any, Ports::ALL)],
            reason: Cow::Borrowed(
                "no NetworkPolicy selects these pods for ingress: every pod of the cluster reaches them",
            ),
            verdict: None,
        });
    }
    for policy in cluster
        .policies
        .iter()
        .filter(|policy| !policy.approximations.is_empty())
    {
        findings.push(Finding {
            invariant: Invariant::NotVerifiable,
            subject: Subject::ContainerPolicy {
                policy_id: policy.source.id,
                cluster: cluster.name.clone(),
                namespace: policy.source.namespace.clone(),
            },
            tenants: vec![policy.source.tenant_id],
            vpcs: Vec::new(),
            example: None,
            ports: Vec::new(),
            reason: Cow::Owned(policy.approximations.join("; ")),
            verdict: None,
        });
    }
    findings
}

pub const NO_EXCHANGE: &str = "no exchange rule allows this flow";
pub const NO_FIREWALL: &str =
    "an exchange rule allows it, but it does not pass an explicit firewall allow of both tenants";

/// Findings on the path from one interface to another (different, peered VPCs).
pub fn pair(
    network: &Network,
    source: InterfaceIndex,
    destination: InterfaceIndex,
) -> Vec<Finding> {
    let (Some(from), Some(to)) = (
        network.interface_at(source),
        network.interface_at(destination),
    ) else {
        return Vec::new();
    };
    if from.vpc_id == to.vpc_id {
        return Vec::new();
    }
    let (Some(vpc_a), Some(vpc_b)) = (network.vpc(from.vpc_id), network.vpc(to.vpc_id)) else {
        return Vec::new();
    };
    let passage = network.allowed_between(source, destination);
    if passage.allowed.is_empty() {
        return Vec::new();
    }
    let end = |interface: &crate::model::Interface| End {
        vm_id: interface.vm_id,
        address: interface.address,
        vpc_id: interface.vpc_id,
    };
    let subject = Subject::Path {
        source: end(from),
        destination: end(to),
        sources: vec![end(from)],
        destinations: vec![end(to)],
    };
    let mut tenants = vec![vpc_a.tenant_id, vpc_b.tenant_id];
    tenants.dedup();
    let mut findings = Vec::new();
    let mut report = |invariant: Invariant, set: &PortSet, reason: &'static str| {
        let ports: Vec<(Protocol, Ports)> = set.intervals().collect();
        let Some((protocol, first)) = ports.first().copied() else {
            return;
        };
        // The example: the first port of the first range (TCP before UDP before ICMP).
        findings.push(Finding {
            invariant,
            subject: subject.clone(),
            tenants: tenants.clone(),
            vpcs: vec![from.vpc_id, to.vpc_id],
            example: Some(Flow {
                src: from.address,
                dst: to.address,
                protocol,
                port: first.from,
            }),
            ports,
            reason: Cow::Borrowed(reason),
            verdict: None,
        });
    };
    if vpc_a.tenant_id != vpc_b.tenant_id {
        let approved = network.approved(from.vpc_id, to.vpc_id);
        let explicit = match passage.firewalls.as_slice() {
            [Some(a), Some(b)] => a.intersect(b),
            _ => PortSet::empty(),
        };
        report(
            Invariant::CrossTenantPath,
            &passage.allowed.subtract(&approved),
            NO_EXCHANGE,
        );
        report(
            Invariant::CrossTenantPath,
            &passage.allowed.intersect(&approved).subtract(&explicit),
            NO_FIREWALL,
        );
    }
    if vpc_a.zone_id != vpc_b.zone_id {
        report(
            Invariant::ZoneSeparation,
            &passage.allowed,
            "the zones meet through a VPC peering, not through the zones' gateway",
        );
    }
    let foreign_management = network
        .endpoint_tenants(from.address)
        .any(|tenant| tenant != vpc_b.tenant_id);
    if foreign_management {
        report(
            Invariant::ManagementReach,
            &passage.allowed,
            "a management endpoint reaches an address outside its tenant's VPCs",
        );
    }
    findings
}

/// Internet-zone VMs and their hosts (7.1.2).
pub fn host_findings(network: &Network, host: i64) -> Vec<Finding> {
    let internet_zone = |zone: i64| network.zone(zone).is_some_and(|zone| zone.internet);
    let mut internet = Vec::new();
    let mut others = Vec::new();
    for index in network.on_host(host) {
        let Some(interface) = network.interface_at(index) else {
            continue;
        };
        let Some(vpc) = network.vpc(interface.vpc_id) else {
            continue;
        };
        let entry = (interface.vm_id, vpc.tenant_id, vpc.id);
        if internet_zone(vpc.zone_id) {
            internet.push(entry);
        } else {
            others.push(entry);
        }
    }
    if internet.is_empty() {
        return Vec::new();
    }
    let host_zone = network.host_zone(host);
    let reason = if !others.is_empty() {
        format!(
            "runs {} internet-zone VM(s) beside {} VM(s) of another zone",
            dedup_count(&internet),
            dedup_count(&others)
        )
    } else if host_zone.is_some_and(|zone| !internet_zone(zone)) {
        format!(
            "a host of another zone runs {} internet-zone VM(s)",
            dedup_count(&internet)
        )
    } else {
        return Vec::new();
    };
    let mut all: Vec<(i64, i64, i64)> = internet.into_iter().chain(others).collect();
    all.sort();
    all.dedup();
    let mut vms: Vec<i64> = all.iter().map(|entry| entry.0).collect();
    vms.dedup();
    let mut tenants: Vec<i64> = all.iter().map(|entry| entry.1).collect();
    tenants.sort();
    tenants.dedup();
    let mut vpcs: Vec<i64> = all.iter().map(|entry| entry.2).collect();
    vpcs.sort();
    vpcs.dedup();
    vec![Finding {
        invariant: Invariant::SharedHost,
        subject: Subject::Host { host_id: host, vms },
        tenants,
        vpcs,
        example: None,
        ports: Vec::new(),
        reason: Cow::Owned(reason),
        verdict: None,
    }]
}

fn dedup_count(entries: &[(i64, i64, i64)]) -> usize {
    let mut vms: Vec<i64> = entries.iter().map(|entry| entry.0).collect();
    vms.sort();
    vms.dedup();
    vms.len()
}

/// Routes whose next hop is beyond the model.
pub fn route_findings(network: &Network, route: i64) -> Vec<Finding> {
    let Some(route) = network.route(route) else {
        return Vec::new();
    };
    if route.next_hop.verifiable() {
        return Vec::new();
    }
    let what = match route.next_hop {
        crate::model::NextHop::NatGateway => "a NAT gateway (addresses are rewritten)",
        crate::model::NextHop::VpnGateway => "a VPN gateway",
        crate::model::NextHop::InternetGateway => "the internet gateway",
        crate::model::NextHop::Address => {
            "an address the model does not hold (a router or appliance)"
        }
        _ => "dynamically learned routes",
    };
    vec![Finding {
        invariant: Invariant::NotVerifiable,
        subject: Subject::Route {
            route_id: route.id,
            vpc_id: route.vpc_id,
        },
        tenants: network.tenant_of_vpc(route.vpc_id).into_iter().collect(),
        vpcs: vec![route.vpc_id],
        example: None,
        ports: Vec::new(),
        reason: Cow::Owned(format!(
            "traffic to {} leaves through {what}: paths beyond it are not verifiable",
            route.destination
        )),
        verdict: None,
    }]
}

/// A layer-7 firewall rule: its decisions depend on content the model does not see.
pub fn layer7_findings(network: &Network, rule: i64) -> Vec<Finding> {
    let Some(rule) = network.firewall_rule(rule).filter(|rule| rule.layer7) else {
        return Vec::new();
    };
    vec![Finding {
        invariant: Invariant::NotVerifiable,
        subject: Subject::FirewallRule {
            rule_id: rule.id,
            tenant_id: rule.tenant_id,
        },
        tenants: vec![rule.tenant_id],
        vpcs: Vec::new(),
        example: None,
        ports: vec![(rule.protocol, rule.ports)],
        reason: Cow::Owned(format!(
            "firewall rule {} also matches on the application: paths {} → {} are taken as {} and are not verifiable beyond that",
            rule.id,
            rule.source,
            rule.destination,
            if rule.action == Action::Allow { "allowed" } else { "not stopped by it" }
        )),
        verdict: None,
    }]
}

// ---- security groups, rule by rule ----

/// A region of one group rule's match space: protocols (bit per `PROTOCOLS` slot),
/// ports and the remote side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Region {
    protocols: u8,
    ports: (u16, u16),
    remote: RemoteSpan,
}

/// The remote side: an address interval of one family, or a group's members (which
/// only the same group or a whole-family CIDR is known to cover: membership changes,
/// so a rule naming a group is never called redundant because of today's members).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RemoteSpan {
    Range { v6: bool, low: u128, high: u128 },
    Group(i64),
}

fn protocol_bits(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 1,
        Protocol::Udp => 2,
        Protocol::Icmp => 4,
        Protocol::Any => 7,
    }
}

fn span(remote: &Remote) -> RemoteSpan {
    match remote {
        Remote::Cidr(ipnet::IpNet::V4(net)) => RemoteSpan::Range {
            v6: false,
            low: u128::from(u32::from(net.network())),
            high: u128::from(u32::from(net.broadcast())),
        },
        Remote::Cidr(ipnet::IpNet::V6(net)) => RemoteSpan::Range {
            v6: true,
            low: u128::from(net.network()),
            high: u128::from(net.broadcast()),
        },
        Remote::Group(group) => RemoteSpan::Group(*group),
    }
}

fn region(rule: &GroupRule) -> Region {
    Region {
        protocols: protocol_bits(rule.protocol),
        ports: (rule.ports.from, rule.ports.to),
        remote: span(&rule.remote),
    }
}

fn whole_family(span: RemoteSpan) -> bool {
    matches!(span, RemoteSpan::Range { v6: false, low: 0, high } if high == u128::from(u32::MAX))
        || matches!(
            span,
            RemoteSpan::Range {
                v6: true,
                low: 0,
                high: u128::MAX
            }
        )
}

/// `a` minus `b` on the remote axis: the (up to two) pieces of `a` outside `b`, and
/// whether `b` takes anything of `a` (a group is taken only by itself or a CIDR of the
/// whole family: its members are not known to lie in any narrower range).
fn remote_minus(a: RemoteSpan, b: RemoteSpan) -> ([Option<RemoteSpan>; 2], bool) {
    match (a, b) {
        (
            RemoteSpan::Range { v6, low, high },
            RemoteSpan::Range {
                v6: v6_b,
                low: low_b,
                high: high_b,
            },
        ) => {
            if v6 != v6_b || high_b < low || high < low_b {
                return ([Some(a), None], false);
            }
            let below = (low < low_b).then(|| RemoteSpan::Range {
                v6,
                low,
                high: low_b - 1,
            });
            let above = (high_b < high).then(|| RemoteSpan::Range {
                v6,
                low: high_b + 1,
                high,
            });
            ([below, above], true)
        }
        (RemoteSpan::Group(x), RemoteSpan::Group(y)) if x == y => ([None, None], true),
        (RemoteSpan::Group(_), range) if whole_family(range) => ([None, None], true),
        _ => ([Some(a), None], false),
    }
}

/// Whether two regions share any flow (a group and an address range may share
/// members, so they count as overlapping).
fn overlaps(a: &Region, b: &Region) -> bool {
    if a.protocols & b.protocols == 0 || a.ports.0.max(b.ports.0) > a.ports.1.min(b.ports.1) {
        return false;
    }
    match (a.remote, b.remote) {
        (
            RemoteSpan::Range { v6, low, high },
            RemoteSpan::Range {
                v6: v6_b,
                low: low_b,
                high: high_b,
            },
        ) => v6 == v6_b && low <= high_b && low_b <= high,
        _ => true,
    }
}

/// Pushes `a` minus `b` (up to five disjoint regions) onto `out`; whether anything of
/// `a` was taken.
fn minus_into(a: &Region, b: &Region, out: &mut Vec<Region>) -> bool {
    if !overlaps(a, b) {
        out.push(*a);
        return false;
    }
    let shared = a.protocols & b.protocols;
    let (low, high) = (a.ports.0.max(b.ports.0), a.ports.1.min(b.ports.1));
    let (rest, taken) = remote_minus(a.remote, b.remote);
    if !taken {
        out.push(*a);
        return false;
    }
    if a.protocols & !b.protocols != 0 {
        out.push(Region {
            protocols: a.protocols & !b.protocols,
            ..*a
        });
    }
    if a.ports.0 < low {
        out.push(Region {
            protocols: shared,
            ports: (a.ports.0, low - 1),
            remote: a.remote,
        });
    }
    if high < a.ports.1 {
        out.push(Region {
            protocols: shared,
            ports: (high + 1, a.ports.1),
            remote: a.remote,
        });
    }
    for remote in rest.into_iter().flatten() {
        out.push(Region {
            protocols: shared,
            ports: (low, high),
            remote,
        });
    }
    true
}

/// Subtracts `b` from every region; whether anything was taken.
fn subtract_all(regions: &mut Vec<Region>, b: &Region, scratch: &mut Vec<Region>) -> bool {
    if !regions.iter().any(|region| overlaps(region, b)) {
        return false;
    }
    scratch.clear();
    let mut taken = false;
    for region in regions.iter() {
        taken |= minus_into(region, b, scratch);
    }
    std::mem::swap(regions, scratch);
    taken
}

/// Rule-level findings of one security group.
pub fn group_rules_of(network: &Network, group_id: i64) -> Vec<Finding> {
    let Some(rules) = network.group(group_id) else {
        return Vec::new();
    };
    let vpc = network.group_vpc(group_id);
    let tenants: Vec<i64> = vpc
        .and_then(|vpc| network.tenant_of_vpc(vpc))
        .into_iter()
        .collect();
    let vpcs: Vec<i64> = vpc.into_iter().collect();
    let mut findings = Vec::new();
    let mut push = |invariant: Invariant, rule: &GroupRule, by: Vec<i64>, reason: String| {
        findings.push(Finding {
            invariant,
            subject: Subject::Rule {
                group_id,
                rule_id: rule.id,
                by,
            },
            tenants: tenants.clone(),
            vpcs: vpcs.clone(),
            example: None,
            ports: vec![(rule.protocol, rule.ports)],
            reason: Cow::Owned(reason),
            verdict: None,
        });
    };
    let mut scratch = Vec::new();
    for ordered in rules.iter() {
        for (position, rule) in ordered.iter().enumerate() {
            let everywhere = matches!(&rule.remote, Remote::Cidr(net) if net.prefix_len() == 0);
            if rule.direction == Direction::Ingress && rule.action == Action::Allow && everywhere {
                let exposed: Vec<u16> = MANAGEMENT_PORTS
                    .iter()
                    .chain(DATABASE_PORTS.iter())
                    .copied()
                    .filter(|port| {
                        rule.ports.contains(*port)
                            && (rule.protocol.covers(Protocol::Tcp)
                                || rule.protocol.covers(Protocol::Udp))
                    })
                    .collect();
                if rule.protocol == Protocol::Any && rule.ports == Ports::ALL {
                    push(
                        Invariant::AnyToAny,
                        rule,
                        Vec::new(),
                        "allows every protocol and port from 0.0.0.0/0".into(),
                    );
                } else if !exposed.is_empty() {
                    push(
                        Invariant::ManagementOpenToAll,
                        rule,
                        Vec::new(),
                        format!("management or database port(s) {exposed:?} open to 0.0.0.0/0"),
                    );
                }
            }
            // What this rule decides: its region minus every earlier rule's.
            let mut decides = vec![region(rule)];
            let mut shadowing = Vec::new();
            for earlier in &ordered[..position] {
                if subtract_all(&mut decides, &region(earlier), &mut scratch) {
                    shadowing.push(earlier.id);
                }
                if decides.is_empty() {
                    break;
                }
            }
            if decides.is_empty() {
                let reason = if shadowing.len() == 1 {
                    format!(
                        "rule {} decides first everything this rule matches",
                        shadowing[0]
                    )
                } else {
                    format!(
                        "rules {shadowing:?} together decide first everything this rule matches"
                    )
                };
                push(Invariant::Shadowed, rule, shadowing, reason);
                continue;
            }
            // Redundant: later rules of the same action decide all of it the same way
            // before any rule of the other action touches it.
            let mut covering = Vec::new();
            let mut redundant = false;
            for later in &ordered[position + 1..] {
                let later_region = region(later);
                if !decides.iter().any(|part| overlaps(part, &later_region)) {
                    continue;
                }
                if later.action != rule.action {
                    break;
                }
                subtract_all(&mut decides, &later_region, &mut scratch);
                covering.push(later.id);
                if decides.is_empty() {
                    redundant = true;
                    break;
                }
            }
            if redundant {
                push(
                    Invariant::Redundant,
                    rule,
                    covering.clone(),
                    format!(
                        "removing it changes nothing: later rule(s) {covering:?} decide the same"
                    ),
                );
            }
        }
    }
    findings
}

/// Every rule-level finding of every group (in group id order).
pub fn group_rules(network: &Network) -> Vec<Finding> {
    let mut ids: Vec<i64> = network.groups().map(|(id, _)| id).collect();
    ids.sort();
    ids.into_iter()
        .flat_map(|id| group_rules_of(network, id))
        .collect()
}

/// Every cross-tenant finding over every peered pair (both directions).
pub fn cross_tenant(network: &Network) -> Vec<Finding> {
    let mut findings: Vec<Finding> = pair_keys(network)
        .into_iter()
        .flat_map(|key| check(network, key))
        .filter(|finding| finding.invariant == Invariant::CrossTenantPath)
        .collect();
    findings.sort_by_key(order_key);
    findings
}

fn order_key(finding: &Finding) -> (Invariant, Option<(IpAddr, IpAddr, Protocol, u16)>) {
    (
        finding.invariant,
        finding
            .example
            .map(|flow| (flow.src, flow.dst, flow.protocol, flow.port)),
    )
}

/// Every directed pair of peered VPCs.
pub fn pair_keys(network: &Network) -> Vec<Key> {
    let mut keys = Vec::new();
    for (a, b) in network.peered_pairs() {
        if a != b {
            keys.push(Key::Path(a, b));
            keys.push(Key::Path(b, a));
        }
    }
    keys
}

/// Address boundaries of every CIDR that can judge an address on the paths between two
/// VPCs: both VPCs' groups' rules, their subnets' ACLs, both tenants' firewalls and both
/// route tables. Two addresses between the same boundaries are judged alike.
fn boundaries(network: &Network, vpcs: [i64; 2]) -> [Vec<u128>; 2] {
    let mut cuts: [Vec<u128>; 2] = [Vec::new(), Vec::new()];
    let mut add = |net: &ipnet::IpNet| {
        let (family, low, high) = match net {
            ipnet::IpNet::V4(net) => (
                0,
                u128::from(u32::from(net.network())),
                u128::from(u32::from(net.broadcast())),
            ),
            ipnet::IpNet::V6(net) => (1, u128::from(net.network()), u128::from(net.broadcast())),
        };
        cuts[family].push(low);
        cuts[family].push(high.saturating_add(1));
    };
    let mut groups: BTreeSet<i64> = BTreeSet::new();
    let mut subnets: BTreeSet<i64> = BTreeSet::new();
    for vpc in vpcs {
        for index in network.in_vpc(vpc) {
            if let Some(interface) = network.interface_at(index) {
                groups.extend(interface.groups.iter().copied());
                subnets.insert(interface.subnet_id);
            }
        }
        if let Some(tenant) = network.tenant_of_vpc(vpc) {
            for rule in network.firewall_rules(tenant) {
                add(&rule.source);
                add(&rule.destination);
            }
        }
        for route in network.route_table(vpc) {
            add(&route.destination);
        }
    }
    for group in groups {
        for rule in network.group(group).into_iter().flatten().flatten() {
            if let Remote::Cidr(net) = &rule.remote {
                add(net);
            }
        }
    }
    for subnet in subnets {
        for rule in network
            .subnet(subnet)
            .and_then(|subnet| subnet.acl.as_ref())
            .into_iter()
            .flatten()
        {
            add(&rule.remote);
        }
    }
    for list in &mut cuts {
        list.sort_unstable();
        list.dedup();
    }
    cuts
}

fn atom(cuts: &[Vec<u128>; 2], address: IpAddr) -> (u8, usize) {
    let (family, bits) = match address {
        IpAddr::V4(v4) => (0, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (1, u128::from(v6)),
    };
    (
        family as u8,
        cuts[family].partition_point(|cut| *cut <= bits),
    )
}

/// What tells an interface apart on the paths between two VPCs: its subnet, its
/// groups, where its address falls among the boundaries, whose management endpoint
/// it is.
type ClassKey = (i64, Vec<i64>, (u8, usize), Vec<i64>);

/// A VPC's interfaces grouped into classes no rule tells apart, each sorted by VM and
/// address (so the representative — the first — does not depend on index order).
fn classes(network: &Network, vpc: i64, cuts: &[Vec<u128>; 2]) -> Vec<Vec<InterfaceIndex>> {
    let mut by_key: std::collections::BTreeMap<ClassKey, Vec<InterfaceIndex>> =
        std::collections::BTreeMap::new();
    for index in network.in_vpc(vpc) {
        let Some(interface) = network.interface_at(index) else {
            continue;
        };
        let mut groups = interface.groups.clone();
        groups.sort_unstable();
        groups.dedup();
        let endpoint: Vec<i64> = network.endpoint_tenants(interface.address).collect();
        by_key
            .entry((
                interface.subnet_id,
                groups,
                atom(cuts, interface.address),
                endpoint,
            ))
            .or_default()
            .push(index);
    }
    let mut out: Vec<Vec<InterfaceIndex>> = by_key.into_values().collect();
    for class in &mut out {
        class.sort_by_key(|index| {
            network
                .interface_at(*index)
                .map(|interface| (interface.vm_id, interface.address))
        });
    }
    out
}

/// Every path finding from one VPC to another: interfaces in classes, one pair of
/// representatives per pair of classes, each finding holding for every member pair.
pub fn vpc_path(network: &Network, from: i64, to: i64) -> Vec<Finding> {
    if from == to || !network.peers_of(from).any(|peer| peer == to) {
        return Vec::new();
    }
    let cuts = boundaries(network, [from, to]);
    let sources = classes(network, from, &cuts);
    let destinations = classes(network, to, &cuts);
    let end = |index: &InterfaceIndex| {
        network.interface_at(*index).map(|interface| End {
            vm_id: interface.vm_id,
            address: interface.address,
            vpc_id: interface.vpc_id,
        })
    };
    let mut findings = Vec::new();
    for source in &sources {
        for destination in &destinations {
            let found = pair(network, source[0], destination[0]);
            if found.is_empty() {
                continue;
            }
            let source_ends: Vec<End> = source.iter().filter_map(end).collect();
            let destination_ends: Vec<End> = destination.iter().filter_map(end).collect();
            for mut finding in found {
                if let Subject::Path {
                    sources,
                    destinations,
                    ..
                } = &mut finding.subject
                {
                    sources.clone_from(&source_ends);
                    destinations.clone_from(&destination_ends);
                }
                findings.push(finding);
            }
        }
    }
    findings
}
