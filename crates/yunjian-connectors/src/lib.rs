//! Provider platforms' answers as observed objects (issue 6, first piece: the parsers).
//!
//! Each parser takes one response body and returns what it could read: objects with the
//! provider's own ids and references, and a problem for each object (or the whole body)
//! it could not read. A malformed object never fails the others, and a malformed body is
//! one problem, never a panic. Nothing here does IO: fetching, scheduling and applying
//! observed objects to the world are later pieces (docs/decisions/0010).

pub mod fetch;
pub mod kubernetes;
pub mod openstack;
pub mod prometheus;
pub mod sync;
pub mod translate;

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// What an observed object is, in the provider's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObservedKind {
    /// A compute host (hypervisor).
    Host,
    /// A network (a tenant's VPC, or an external network).
    Network,
    Subnet,
    /// A network port: which VM, which subnet and address, which host.
    Port,
    SecurityGroup,
    SecurityGroupRule,
    /// A VM.
    Server,
    Volume,
    Snapshot,
    Backup,
    Image,
    /// A Neutron router: the networks it joins (through its interface ports), its
    /// external gateway and extra routes.
    Router,
    /// FWaaS v2: a firewall group (ingress and egress policies on ports), a policy
    /// (rules in order) and a rule.
    FirewallGroup,
    FirewallPolicy,
    FirewallRule,
    /// A Kubernetes namespace.
    Namespace,
    /// A Kubernetes pod: a container workload.
    Pod,
    /// A Kubernetes NetworkPolicy.
    NetworkPolicy,
}

impl ObservedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservedKind::Host => "host",
            ObservedKind::Network => "network",
            ObservedKind::Subnet => "subnet",
            ObservedKind::Port => "port",
            ObservedKind::SecurityGroup => "security_group",
            ObservedKind::SecurityGroupRule => "security_group_rule",
            ObservedKind::Server => "server",
            ObservedKind::Volume => "volume",
            ObservedKind::Snapshot => "snapshot",
            ObservedKind::Backup => "backup",
            ObservedKind::Image => "image",
            ObservedKind::Router => "router",
            ObservedKind::FirewallGroup => "firewall_group",
            ObservedKind::FirewallPolicy => "firewall_policy",
            ObservedKind::FirewallRule => "firewall_rule",
            ObservedKind::Namespace => "namespace",
            ObservedKind::Pod => "pod",
            ObservedKind::NetworkPolicy => "network_policy",
        }
    }
}

/// One object as the provider reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedObject {
    pub kind: ObservedKind,
    /// The provider's id (a UUID for OpenStack).
    pub external_id: String,
    /// The provider's project (OpenStack project/tenant id), when the object has one.
    pub project: Option<String>,
    /// Normalized fields, named as yunjian's world schema names them where it has them
    /// (`name`, `vcpus`, `memory_mib`, `size_gib`, `encrypted`, `digest`, …).
    pub fields: BTreeMap<&'static str, Json>,
    /// References to other observed objects by their external ids (`host`, `image`,
    /// `network`, `subnet`, `server`, `volume`, `security_group`, `remote_group`).
    pub references: BTreeMap<&'static str, String>,
}

/// Something that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The API and resource, e.g. `nova servers`.
    pub source: &'static str,
    /// The object's position in the response's list, when the problem is one object's.
    pub index: Option<usize>,
    /// Its id, when it had one.
    pub external_id: Option<String>,
    pub reason: String,
}

/// What one response gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub objects: Vec<ObservedObject>,
    pub problems: Vec<Problem>,
    /// Compute hosts' availability zones, by host name (Nova's zone listing).
    pub host_zones: BTreeMap<String, String>,
    /// The optional APIs the platform answered (`routers`, `fwaas`): what they report
    /// is the platform's whole word on their kinds; an API it lacks says nothing.
    pub extensions: std::collections::BTreeSet<&'static str>,
}

impl Observed {
    pub fn merge(&mut self, other: Observed) {
        self.objects.extend(other.objects);
        self.problems.extend(other.problems);
        self.host_zones.extend(other.host_zones);
        self.extensions.extend(other.extensions);
    }

    pub fn of_kind(&self, kind: ObservedKind) -> impl Iterator<Item = &ObservedObject> {
        self.objects
            .iter()
            .filter(move |object| object.kind == kind)
    }
}
