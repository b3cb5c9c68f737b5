//! What the engine reasons about (guide 5.2.2, 5.3.3–5.3.5, 7.2.2.3, 7.2.4.2, 7.5.12):
//! zones, VPCs with their CIDRs, subnets, VM interfaces with their addresses and
//! security groups, stateless subnet ACLs, per-tenant north-south firewalls, VPC
//! peerings and the cross-VPC exchange rules the management unit approved. Plain data,
//! built from the store or from a test; `engine::Network::compile` indexes it.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    /// Any protocol (a rule's wildcard; a flow is always one protocol).
    Any,
}

impl Protocol {
    /// Whether a rule's protocol covers a flow's.
    pub fn covers(self, flow: Protocol) -> bool {
        self == Protocol::Any || self == flow
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Any => "any",
        }
    }
}

/// An inclusive port range; ICMP flows carry port 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ports {
    pub from: u16,
    pub to: u16,
}

impl Ports {
    pub const ALL: Ports = Ports { from: 0, to: 65535 };

    pub fn one(port: u16) -> Ports {
        Ports {
            from: port,
            to: port,
        }
    }

    pub fn contains(self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Deny,
}

/// Whom a security-group rule names on the other side.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remote {
    Cidr(IpNet),
    /// Members of a security group (their interfaces' addresses).
    Group(i64),
}

/// A security-group rule (stateful): Alibaba Cloud and Huawei Cloud both order rules by
/// priority (1 first) and let deny win at equal priority.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupRule {
    pub id: i64,
    pub group_id: i64,
    pub direction: Direction,
    pub priority: i64,
    pub action: Action,
    pub protocol: Protocol,
    pub ports: Ports,
    pub remote: Remote,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: i64,
    pub vpc_id: i64,
    pub rules: Vec<GroupRule>,
}

/// A stateless subnet ACL rule: ordered, first match; no match denies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclRule {
    pub id: i64,
    pub direction: Direction,
    /// Evaluation order within the direction (lower first).
    pub order: i64,
    pub action: Action,
    pub protocol: Protocol,
    pub ports: Ports,
    /// The other side's addresses.
    pub remote: IpNet,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: i64,
    pub vpc_id: i64,
    pub cidr: IpNet,
    /// `None`: no ACL bound (everything passes this hop).
    pub acl: Option<Vec<AclRule>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: i64,
    pub tenant_id: i64,
    pub zone_id: i64,
    pub cidrs: Vec<IpNet>,
}

/// A VM's network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub vm_id: i64,
    pub vpc_id: i64,
    pub subnet_id: i64,
    pub address: IpAddr,
    pub groups: Vec<i64>,
    /// The physical host the VM runs on, when known (7.1.2).
    #[serde(default)]
    pub host_id: Option<i64>,
}

/// A network zone (5.2.2): the internet zone or the e-government extranet zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: i64,
    pub internet: bool,
}

/// A physical host and the zone it serves (7.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub id: i64,
    pub zone_id: i64,
}

/// Where a route sends traffic. Only peerings and the VPC itself are modelled exactly;
/// the others are where the engine's knowledge ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum NextHop {
    Local,
    Peering(i64),
    /// Source NAT or DNAT: addresses change on the way (not verifiable).
    NatGateway,
    VpnGateway,
    InternetGateway,
    /// The zones' gateway (网闸): the one sanctioned crossing between zones.
    ZoneGateway,
    /// Learned by a routing protocol: the table is not known in advance.
    Dynamic,
    /// An address (a router or appliance the model does not hold: an OpenStack
    /// router's extra route).
    Address,
}

impl NextHop {
    /// Whether what happens beyond this hop is outside the model.
    pub fn verifiable(self) -> bool {
        matches!(
            self,
            NextHop::Local | NextHop::Peering(_) | NextHop::ZoneGateway
        )
    }
}

/// A VPC route-table entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Route {
    pub id: i64,
    pub vpc_id: i64,
    pub destination: IpNet,
    pub next_hop: NextHop,
}

/// A tenant's remote-management entry point (a bastion host, a VPN concentrator), whose
/// reach must stay inside the tenant's own VPCs (7.2.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ManagementEndpoint {
    pub id: i64,
    pub tenant_id: i64,
    pub address: IpAddr,
}

/// A tenant's north-south virtual firewall rule (first match; no match denies), for
/// traffic leaving or entering the tenant's VPCs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FirewallRule {
    pub id: i64,
    pub tenant_id: i64,
    pub order: i64,
    pub action: Action,
    pub protocol: Protocol,
    pub ports: Ports,
    pub source: IpNet,
    pub destination: IpNet,
    /// The rule also names an application or domain (layer 7): what it decides depends
    /// on content the model does not see. Its allow is taken as allowing and its deny as
    /// not matching (so every path it might let through is found), and it is reported
    /// "not verifiable".
    #[serde(default)]
    pub layer7: bool,
}

/// A peering between two VPCs (routes both ways).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peering {
    pub id: i64,
    pub vpc_a: i64,
    pub vpc_b: i64,
}

/// A cross-VPC exchange the management unit approved (7.5.11, 7.5.12): from one VPC to
/// another on a protocol and ports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExchangeRule {
    pub id: i64,
    pub from_vpc: i64,
    pub to_vpc: i64,
    pub protocol: Protocol,
    pub ports: Ports,
}

/// Everything, as loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub zones: Vec<Zone>,
    #[serde(default)]
    pub hosts: Vec<Host>,
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub interfaces: Vec<Interface>,
    pub groups: Vec<SecurityGroup>,
    pub firewall: Vec<FirewallRule>,
    pub peerings: Vec<Peering>,
    pub exchanges: Vec<ExchangeRule>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub endpoints: Vec<ManagementEndpoint>,
    /// Container workloads (pods) and the NetworkPolicies of their clusters (5.4.3).
    #[serde(default)]
    pub pods: Vec<Pod>,
    #[serde(default)]
    pub container_policies: Vec<ContainerPolicy>,
}

/// A pod: its cluster, namespace (with the namespace's labels), labels and address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pod {
    pub id: i64,
    pub tenant_id: i64,
    pub cluster: String,
    pub namespace: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub namespace_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub address: Option<IpAddr>,
}

/// A Kubernetes NetworkPolicy: its `spec` as the cluster wrote it (JSON text).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerPolicy {
    pub id: i64,
    pub tenant_id: i64,
    pub cluster: String,
    pub namespace: String,
    pub spec: String,
}

/// One flow: the question every check asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flow {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: Protocol,
    pub port: u16,
}
