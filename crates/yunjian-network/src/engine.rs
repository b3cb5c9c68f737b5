//! The decision of one flow, hop by hop, with the rule that decided each hop: what the
//! network actually lets through, whatever was approved.
//!
//! A flow from interface S to interface D passes, in order: S's security groups
//! (egress), S's subnet ACL (outbound), then — when S and D are in different VPCs — the
//! route (a peering between the two VPCs, and the longest-prefix route of each VPC that
//! has a route table pointing at that peering) and each tenant's north-south firewall
//! when that tenant has one; then D's subnet ACL (inbound) and D's security groups
//! (ingress). Exchange rules are approvals, not devices: they do not stop traffic; the
//! invariant checks compare what passes with what was approved. Security groups: every
//! group of the interface counts, rules of the direction sorted by priority (deny first
//! at equal priority), the first matching rule decides; none: ingress denied, egress
//! allowed (the clouds' defaults). ACLs and firewalls: first match in order; none:
//! denied. Stateful groups never judge replies, so only the initiating direction is
//! asked.
//!
//! `Network` is mutable: `apply` changes one object and keeps every index right, so the
//! verifier re-checks only what a change can affect (`verify`).

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::model::{
    AclRule, Action, Direction, ExchangeRule, FirewallRule, Flow, GroupRule, Host, Interface,
    ManagementEndpoint, Model, NextHop, Peering, Ports, Protocol, Remote, Route, SecurityGroup,
    Subnet, Vpc, Zone,
};
use crate::ports::{first_match, PortSet};

/// What decided a hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Decider {
    GroupRule(i64),
    AclRule(i64),
    FirewallRule(i64),
    Peering(i64),
    Route(i64),
    /// Nothing matched; the hop's default applied.
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    SourceGroups,
    SourceAcl,
    Peering,
    SourceFirewall,
    DestinationFirewall,
    DestinationAcl,
    DestinationGroups,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub stage: Stage,
    pub allowed: bool,
    pub decided_by: Decider,
}

/// The answer to "can this flow pass", with every hop asked (up to the first refusal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub allowed: bool,
    pub hops: Vec<Hop>,
}

/// One change to the network, as the store records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    UpsertGroupRule { rule: GroupRule },
    RemoveGroupRule { group_id: i64, rule_id: i64 },
    UpsertInterface { interface: Interface },
    RemoveInterface { vm_id: i64, address: IpAddr },
    UpsertAclRule { subnet_id: i64, rule: AclRule },
    RemoveAclRule { subnet_id: i64, rule_id: i64 },
    UpsertFirewallRule { rule: FirewallRule },
    RemoveFirewallRule { tenant_id: i64, rule_id: i64 },
    UpsertPeering { peering: Peering },
    RemovePeering { id: i64 },
    UpsertExchange { rule: ExchangeRule },
    RemoveExchange { id: i64 },
    UpsertRoute { route: Route },
    RemoveRoute { id: i64 },
    UpsertEndpoint { endpoint: ManagementEndpoint },
    RemoveEndpoint { id: i64 },
}

/// An interface's position in the network (stable until it is removed).
pub type InterfaceIndex = usize;

/// The model indexed for questions and kept indexed through changes.
#[derive(Clone, Debug, Default)]
pub struct Network {
    zones: HashMap<i64, Zone>,
    host_zones: HashMap<i64, i64>,
    vpcs: HashMap<i64, Vpc>,
    subnets: HashMap<i64, Subnet>,
    /// Slots; a removed interface leaves `None` so indices stay stable.
    interfaces: Vec<Option<Interface>>,
    by_address: HashMap<IpAddr, Vec<InterfaceIndex>>,
    by_vpc: HashMap<i64, BTreeSet<InterfaceIndex>>,
    by_host: HashMap<i64, BTreeSet<InterfaceIndex>>,
    /// Group id → its VPC and its rules per direction, in decision order.
    groups: HashMap<i64, (i64, [Vec<GroupRule>; 2])>,
    /// Group id → each rule's remote as a fast matcher, parallel to its rules.
    matchers: HashMap<i64, [Vec<Matcher>; 2]>,
    /// Group rule id → its group; ACL rule id → its subnet (a rule can move).
    rule_group: HashMap<i64, i64>,
    acl_subnet: HashMap<i64, i64>,
    /// Group id → its members' addresses.
    members: HashMap<i64, HashSet<IpAddr>>,
    /// Tenant → its firewall rules in order.
    firewall: HashMap<i64, Vec<FirewallRule>>,
    peerings: HashMap<i64, Peering>,
    /// (smaller VPC id, larger) → the peerings between them.
    peered: HashMap<(i64, i64), BTreeSet<i64>>,
    /// VPC → the VPCs it is peered with.
    peers: HashMap<i64, BTreeSet<i64>>,
    exchanges: HashMap<i64, ExchangeRule>,
    /// (from VPC, to VPC) → what its exchange rules approve.
    approved: HashMap<(i64, i64), PortSet>,
    routes: HashMap<i64, Route>,
    /// VPC → its routes, longest prefix first.
    route_table: HashMap<i64, Vec<Route>>,
    endpoints: HashMap<i64, ManagementEndpoint>,
    /// Address → the tenants whose management endpoint it is.
    endpoint_at: HashMap<IpAddr, BTreeSet<i64>>,
    /// Container clusters by name, with their pods and policies (changed only by a
    /// reload: they come from provider syncs).
    clusters: Vec<crate::containers::Cluster>,
}

pub(crate) fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

/// Deny before allow at equal priority; then the rule id for a stable order.
pub(crate) fn decision_order(rule: &GroupRule) -> (i64, u8, i64) {
    let deny_first = match rule.action {
        Action::Deny => 0,
        Action::Allow => 1,
    };
    (rule.priority, deny_first, rule.id)
}

fn vpc_pair(a: i64, b: i64) -> (i64, i64) {
    (a.min(b), a.max(b))
}

fn sorted_acl(rules: &mut [AclRule]) {
    rules.sort_by_key(|rule| (slot(rule.direction), rule.order, rule.id));
}

impl Network {
    pub fn compile(model: Model) -> Network {
        let mut network = Network::default();
        for zone in model.zones {
            network.zones.insert(zone.id, zone);
        }
        for host in model.hosts {
            network.host_zones.insert(host.id, host.zone_id);
        }
        for vpc in model.vpcs {
            network.vpcs.insert(vpc.id, vpc);
        }
        for mut subnet in model.subnets {
            if let Some(rules) = subnet.acl.as_mut() {
                sorted_acl(rules);
                for rule in rules.iter() {
                    network.acl_subnet.insert(rule.id, subnet.id);
                }
            }
            network.subnets.insert(subnet.id, subnet);
        }
        // A rule id names one rule: of duplicates the last stands (as an upsert would).
        let mut last: HashMap<i64, (usize, usize)> = HashMap::default();
        for (group_index, group) in model.groups.iter().enumerate() {
            for (position, rule) in group.rules.iter().enumerate() {
                last.insert(rule.id, (group_index, position));
            }
        }
        for (group_index, group) in model.groups.into_iter().enumerate() {
            let mut by_direction = [Vec::new(), Vec::new()];
            for (position, rule) in group.rules.into_iter().enumerate() {
                if last.get(&rule.id) != Some(&(group_index, position)) {
                    continue;
                }
                network.rule_group.insert(rule.id, group.id);
                by_direction[slot(rule.direction)].push(rule);
            }
            for rules in &mut by_direction {
                rules.sort_by_key(decision_order);
            }
            network
                .groups
                .insert(group.id, (group.vpc_id, by_direction));
            network.rematch(group.id);
        }
        for interface in model.interfaces {
            network.insert_interface(interface);
        }
        for rule in model.firewall {
            network
                .firewall
                .entry(rule.tenant_id)
                .or_default()
                .push(rule);
        }
        for rules in network.firewall.values_mut() {
            rules.sort_by_key(|rule| (rule.order, rule.id));
        }
        for peering in model.peerings {
            network.insert_peering(peering);
        }
        for rule in model.exchanges {
            network.exchanges.insert(rule.id, rule);
        }
        let pairs: BTreeSet<(i64, i64)> = network
            .exchanges
            .values()
            .map(|rule| (rule.from_vpc, rule.to_vpc))
            .collect();
        for (from, to) in pairs {
            network.reapprove(from, to);
        }
        for route in model.routes {
            network.insert_route(route);
        }
        for endpoint in model.endpoints {
            network.insert_endpoint(endpoint);
        }
        let mut clusters: BTreeMap<String, crate::containers::Cluster> = BTreeMap::new();
        for pod in model.pods {
            let cluster = clusters.entry(pod.cluster.clone()).or_default();
            cluster.pods.push(pod);
        }
        for policy in model.container_policies {
            let cluster = clusters.entry(policy.cluster.clone()).or_default();
            cluster
                .policies
                .push(crate::containers::Compiled::of(&policy));
        }
        for (name, mut cluster) in clusters {
            cluster.name = name;
            cluster.pods.sort_by_key(|pod| pod.id);
            network.clusters.push(cluster);
        }
        network
    }

    /// The container clusters, by name.
    pub fn clusters(&self) -> &[crate::containers::Cluster] {
        &self.clusters
    }

    /// The network as plain data again (sorted by id), for what-if copies and export.
    pub fn to_model(&self) -> Model {
        let mut model = Model {
            zones: self.zones.values().cloned().collect(),
            hosts: self
                .host_zones
                .iter()
                .map(|(id, zone_id)| Host {
                    id: *id,
                    zone_id: *zone_id,
                })
                .collect(),
            vpcs: self.vpcs.values().cloned().collect(),
            subnets: self.subnets.values().cloned().collect(),
            interfaces: self.interfaces.iter().flatten().cloned().collect(),
            groups: self
                .groups
                .iter()
                .map(|(id, (vpc_id, rules))| SecurityGroup {
                    id: *id,
                    vpc_id: *vpc_id,
                    rules: rules.iter().flatten().cloned().collect(),
                })
                .collect(),
            firewall: self.firewall.values().flatten().cloned().collect(),
            peerings: self.peerings.values().cloned().collect(),
            exchanges: self.exchanges.values().cloned().collect(),
            routes: self.routes.values().cloned().collect(),
            endpoints: self.endpoints.values().cloned().collect(),
            pods: self
                .clusters
                .iter()
                .flat_map(|cluster| cluster.pods.iter().cloned())
                .collect(),
            container_policies: self
                .clusters
                .iter()
                .flat_map(|cluster| cluster.policies.iter().map(|policy| policy.source.clone()))
                .collect(),
        };
        model.zones.sort_by_key(|zone| zone.id);
        model.hosts.sort_by_key(|host| host.id);
        model.vpcs.sort_by_key(|vpc| vpc.id);
        model.subnets.sort_by_key(|subnet| subnet.id);
        model.groups.sort_by_key(|group| group.id);
        model.firewall.sort_by_key(|rule| rule.id);
        model.peerings.sort_by_key(|peering| peering.id);
        model.exchanges.sort_by_key(|rule| rule.id);
        model.routes.sort_by_key(|route| route.id);
        model.endpoints.sort_by_key(|endpoint| endpoint.id);
        model
    }

    fn insert_interface(&mut self, interface: Interface) -> InterfaceIndex {
        let index = self.interfaces.len();
        self.by_address
            .entry(interface.address)
            .or_default()
            .push(index);
        self.by_vpc
            .entry(interface.vpc_id)
            .or_default()
            .insert(index);
        if let Some(host) = interface.host_id {
            self.by_host.entry(host).or_default().insert(index);
        }
        for group in &interface.groups {
            self.members
                .entry(*group)
                .or_default()
                .insert(interface.address);
        }
        self.interfaces.push(Some(interface));
        index
    }

    fn remove_interface(&mut self, index: InterfaceIndex) -> Option<Interface> {
        let interface = self.interfaces.get_mut(index)?.take()?;
        if let Some(list) = self.by_address.get_mut(&interface.address) {
            list.retain(|other| *other != index);
            if list.is_empty() {
                self.by_address.remove(&interface.address);
            }
        }
        if let Some(set) = self.by_vpc.get_mut(&interface.vpc_id) {
            set.remove(&index);
        }
        if let Some(host) = interface.host_id {
            if let Some(set) = self.by_host.get_mut(&host) {
                set.remove(&index);
            }
        }
        for group in &interface.groups {
            // Another interface may share the address (reused private space).
            let still = self.by_address.get(&interface.address).is_some_and(|list| {
                list.iter().any(|other| {
                    self.interfaces[*other]
                        .as_ref()
                        .is_some_and(|i| i.groups.contains(group))
                })
            });
            if !still {
                if let Some(members) = self.members.get_mut(group) {
                    members.remove(&interface.address);
                }
            }
        }
        Some(interface)
    }

    fn insert_peering(&mut self, peering: Peering) {
        let pair = vpc_pair(peering.vpc_a, peering.vpc_b);
        self.peered.entry(pair).or_default().insert(peering.id);
        self.peers
            .entry(peering.vpc_a)
            .or_default()
            .insert(peering.vpc_b);
        self.peers
            .entry(peering.vpc_b)
            .or_default()
            .insert(peering.vpc_a);
        self.peerings.insert(peering.id, peering);
    }

    fn remove_peering(&mut self, id: i64) -> Option<Peering> {
        let peering = self.peerings.remove(&id)?;
        let pair = vpc_pair(peering.vpc_a, peering.vpc_b);
        let empty = self.peered.get_mut(&pair).is_some_and(|set| {
            set.remove(&id);
            set.is_empty()
        });
        if empty {
            self.peered.remove(&pair);
            for (a, b) in [
                (peering.vpc_a, peering.vpc_b),
                (peering.vpc_b, peering.vpc_a),
            ] {
                if let Some(set) = self.peers.get_mut(&a) {
                    set.remove(&b);
                }
            }
        }
        Some(peering)
    }

    fn insert_route(&mut self, route: Route) {
        let table = self.route_table.entry(route.vpc_id).or_default();
        table.push(route.clone());
        table.sort_by_key(|route| (std::cmp::Reverse(route.destination.prefix_len()), route.id));
        self.routes.insert(route.id, route);
    }

    fn remove_route(&mut self, id: i64) -> Option<Route> {
        let route = self.routes.remove(&id)?;
        if let Some(table) = self.route_table.get_mut(&route.vpc_id) {
            table.retain(|other| other.id != id);
            if table.is_empty() {
                self.route_table.remove(&route.vpc_id);
            }
        }
        Some(route)
    }

    fn insert_endpoint(&mut self, endpoint: ManagementEndpoint) {
        self.endpoint_at
            .entry(endpoint.address)
            .or_default()
            .insert(endpoint.tenant_id);
        self.endpoints.insert(endpoint.id, endpoint);
    }

    fn remove_endpoint(&mut self, id: i64) -> Option<ManagementEndpoint> {
        let endpoint = self.endpoints.remove(&id)?;
        let tenants: BTreeSet<i64> = self
            .endpoints
            .values()
            .filter(|other| other.address == endpoint.address)
            .map(|other| other.tenant_id)
            .collect();
        if tenants.is_empty() {
            self.endpoint_at.remove(&endpoint.address);
        } else {
            self.endpoint_at.insert(endpoint.address, tenants);
        }
        Some(endpoint)
    }

    /// Applies one change; returns what it touched before and after, for the verifier.
    pub fn apply(&mut self, change: &Change) -> Touched {
        let mut touched = Touched::default();
        match change {
            Change::UpsertGroupRule { rule } => {
                touched.groups.insert(rule.group_id);
                if let Some(previous) = self.rule_group.insert(rule.id, rule.group_id) {
                    touched.groups.insert(previous);
                    if let Some((_, rules)) = self.groups.get_mut(&previous) {
                        for list in rules.iter_mut() {
                            list.retain(|other| other.id != rule.id);
                        }
                    }
                }
                if let Some((_, rules)) = self.groups.get_mut(&rule.group_id) {
                    let list = &mut rules[slot(rule.direction)];
                    list.push(rule.clone());
                    list.sort_by_key(decision_order);
                } else {
                    let mut rules = [Vec::new(), Vec::new()];
                    rules[slot(rule.direction)].push(rule.clone());
                    self.groups.insert(rule.group_id, (0, rules));
                }
                for group in &touched.groups {
                    self.rematch(*group);
                }
            }
            Change::RemoveGroupRule { group_id, rule_id } => {
                touched.groups.insert(*group_id);
                self.rule_group.remove(rule_id);
                if let Some((_, rules)) = self.groups.get_mut(group_id) {
                    for list in rules.iter_mut() {
                        list.retain(|other| other.id != *rule_id);
                    }
                }
                self.rematch(*group_id);
            }
            Change::UpsertInterface { interface } => {
                if let Some(index) = self.find_interface(interface.vm_id, interface.address) {
                    touched
                        .hosts
                        .extend(self.interfaces[index].as_ref().and_then(|i| i.host_id));
                    if let Some(old) = self.remove_interface(index) {
                        touched.removed.push((index, old));
                    }
                }
                touched.hosts.extend(interface.host_id);
                let index = self.insert_interface(interface.clone());
                touched.interfaces.insert(index);
            }
            Change::RemoveInterface { vm_id, address } => {
                if let Some(index) = self.find_interface(*vm_id, *address) {
                    if let Some(interface) = self.remove_interface(index) {
                        touched.hosts.extend(interface.host_id);
                        touched.removed.push((index, interface));
                    }
                }
            }
            Change::UpsertAclRule { subnet_id, rule } => {
                touched.subnets.insert(*subnet_id);
                if let Some(previous) = self.acl_subnet.insert(rule.id, *subnet_id) {
                    touched.subnets.insert(previous);
                    if let Some(rules) =
                        self.subnets.get_mut(&previous).and_then(|s| s.acl.as_mut())
                    {
                        rules.retain(|other| other.id != rule.id);
                    }
                }
                if let Some(subnet) = self.subnets.get_mut(subnet_id) {
                    let rules = subnet.acl.get_or_insert_with(Vec::new);
                    rules.retain(|other| other.id != rule.id);
                    rules.push(rule.clone());
                    sorted_acl(rules);
                }
            }
            Change::RemoveAclRule { subnet_id, rule_id } => {
                touched.subnets.insert(*subnet_id);
                self.acl_subnet.remove(rule_id);
                if let Some(rules) = self.subnets.get_mut(subnet_id).and_then(|s| s.acl.as_mut()) {
                    rules.retain(|other| other.id != *rule_id);
                }
            }
            Change::UpsertFirewallRule { rule } => {
                touched.tenants.insert(rule.tenant_id);
                touched.firewall_rules.insert(rule.id);
                for (tenant, rules) in self.firewall.iter_mut() {
                    let before = rules.len();
                    rules.retain(|other| other.id != rule.id);
                    if rules.len() != before {
                        touched.tenants.insert(*tenant);
                    }
                }
                // A tenant left without rules has no firewall on its path any more.
                self.firewall.retain(|_, rules| !rules.is_empty());
                let rules = self.firewall.entry(rule.tenant_id).or_default();
                rules.push(rule.clone());
                rules.sort_by_key(|rule| (rule.order, rule.id));
            }
            Change::RemoveFirewallRule { tenant_id, rule_id } => {
                touched.tenants.insert(*tenant_id);
                touched.firewall_rules.insert(*rule_id);
                if let Some(rules) = self.firewall.get_mut(tenant_id) {
                    rules.retain(|other| other.id != *rule_id);
                    if rules.is_empty() {
                        self.firewall.remove(tenant_id);
                    }
                }
            }
            Change::UpsertPeering { peering } => {
                if let Some(old) = self.remove_peering(peering.id) {
                    touched.vpc_pairs.insert(vpc_pair(old.vpc_a, old.vpc_b));
                }
                touched
                    .vpc_pairs
                    .insert(vpc_pair(peering.vpc_a, peering.vpc_b));
                self.insert_peering(peering.clone());
            }
            Change::RemovePeering { id } => {
                if let Some(old) = self.remove_peering(*id) {
                    touched.vpc_pairs.insert(vpc_pair(old.vpc_a, old.vpc_b));
                }
            }
            Change::UpsertExchange { rule } => {
                if let Some(old) = self.exchanges.insert(rule.id, rule.clone()) {
                    touched.vpc_pairs.insert(vpc_pair(old.from_vpc, old.to_vpc));
                    self.reapprove(old.from_vpc, old.to_vpc);
                }
                touched
                    .vpc_pairs
                    .insert(vpc_pair(rule.from_vpc, rule.to_vpc));
                self.reapprove(rule.from_vpc, rule.to_vpc);
            }
            Change::RemoveExchange { id } => {
                if let Some(old) = self.exchanges.remove(id) {
                    touched.vpc_pairs.insert(vpc_pair(old.from_vpc, old.to_vpc));
                    self.reapprove(old.from_vpc, old.to_vpc);
                }
            }
            Change::UpsertRoute { route } => {
                touched.routes.insert(route.id);
                if let Some(old) = self.remove_route(route.id) {
                    touched.vpcs.insert(old.vpc_id);
                }
                touched.vpcs.insert(route.vpc_id);
                self.insert_route(route.clone());
            }
            Change::RemoveRoute { id } => {
                touched.routes.insert(*id);
                if let Some(old) = self.remove_route(*id) {
                    touched.vpcs.insert(old.vpc_id);
                }
            }
            Change::UpsertEndpoint { endpoint } => {
                if let Some(old) = self.remove_endpoint(endpoint.id) {
                    touched.addresses.insert(old.address);
                }
                touched.addresses.insert(endpoint.address);
                self.insert_endpoint(endpoint.clone());
            }
            Change::RemoveEndpoint { id } => {
                if let Some(old) = self.remove_endpoint(*id) {
                    touched.addresses.insert(old.address);
                }
            }
        }
        touched
    }

    fn find_interface(&self, vm_id: i64, address: IpAddr) -> Option<InterfaceIndex> {
        self.by_address
            .get(&address)?
            .iter()
            .copied()
            .find(|index| {
                self.interfaces[*index]
                    .as_ref()
                    .is_some_and(|interface| interface.vm_id == vm_id)
            })
    }

    // ---- reading ----

    pub fn interface_at(&self, index: InterfaceIndex) -> Option<&Interface> {
        self.interfaces.get(index)?.as_ref()
    }

    /// Every live interface with its index.
    pub fn interfaces(&self) -> impl Iterator<Item = (InterfaceIndex, &Interface)> {
        self.interfaces
            .iter()
            .enumerate()
            .filter_map(|(index, interface)| Some((index, interface.as_ref()?)))
    }

    /// The interfaces holding an address (several when private space is reused).
    pub fn at_address(&self, address: IpAddr) -> &[InterfaceIndex] {
        self.by_address
            .get(&address)
            .map_or(&[], |list| list.as_slice())
    }

    pub fn vpc(&self, id: i64) -> Option<&Vpc> {
        self.vpcs.get(&id)
    }

    pub fn vpcs(&self) -> impl Iterator<Item = &Vpc> {
        self.vpcs.values()
    }

    pub fn zone(&self, id: i64) -> Option<&Zone> {
        self.zones.get(&id)
    }

    pub fn subnet(&self, id: i64) -> Option<&Subnet> {
        self.subnets.get(&id)
    }

    pub fn subnets(&self) -> impl Iterator<Item = &Subnet> {
        self.subnets.values()
    }

    pub fn in_vpc(&self, vpc: i64) -> impl Iterator<Item = InterfaceIndex> + '_ {
        self.by_vpc.get(&vpc).into_iter().flatten().copied()
    }

    pub fn on_host(&self, host: i64) -> impl Iterator<Item = InterfaceIndex> + '_ {
        self.by_host.get(&host).into_iter().flatten().copied()
    }

    /// Every host some interface runs on.
    pub fn hosts(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_host.keys().copied()
    }

    pub fn host_zone(&self, host: i64) -> Option<i64> {
        self.host_zones.get(&host).copied()
    }

    pub fn peers_of(&self, vpc: i64) -> impl Iterator<Item = i64> + '_ {
        self.peers.get(&vpc).into_iter().flatten().copied()
    }

    /// Every pair of peered VPCs, once.
    pub fn peered_pairs(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.peered.keys().copied()
    }

    /// Group id → (VPC, rules per direction in decision order).
    pub fn groups(&self) -> impl Iterator<Item = (i64, &[Vec<GroupRule>; 2])> {
        self.groups.iter().map(|(id, (_, rules))| (*id, rules))
    }

    pub fn group(&self, id: i64) -> Option<&[Vec<GroupRule>; 2]> {
        self.groups.get(&id).map(|(_, rules)| rules)
    }

    /// The group a rule belongs to.
    pub fn group_of_rule(&self, rule: i64) -> Option<i64> {
        self.rule_group.get(&rule).copied()
    }

    /// The tenant whose firewall holds a rule.
    pub fn tenant_of_firewall_rule(&self, rule: i64) -> Option<i64> {
        self.firewall_rule(rule).map(|rule| rule.tenant_id)
    }

    pub fn group_vpc(&self, id: i64) -> Option<i64> {
        self.groups.get(&id).map(|(vpc, _)| *vpc)
    }

    pub fn members(&self, group: i64) -> impl Iterator<Item = IpAddr> + '_ {
        self.members.get(&group).into_iter().flatten().copied()
    }

    /// Every firewall rule that names an application (layer 7).
    pub fn layer7_rules(&self) -> impl Iterator<Item = &FirewallRule> {
        self.firewall.values().flatten().filter(|rule| rule.layer7)
    }

    /// A firewall rule by id.
    pub fn firewall_rule(&self, id: i64) -> Option<&FirewallRule> {
        self.firewall.values().flatten().find(|rule| rule.id == id)
    }

    /// A tenant's firewall rules in order (empty: it has no firewall).
    pub fn firewall_rules(&self, tenant: i64) -> &[FirewallRule] {
        self.firewall
            .get(&tenant)
            .map_or(&[], |rules| rules.as_slice())
    }

    /// A VPC's routes, longest prefix first (empty: no route table).
    pub fn route_table(&self, vpc: i64) -> &[Route] {
        self.route_table
            .get(&vpc)
            .map_or(&[], |routes| routes.as_slice())
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }

    pub fn route(&self, id: i64) -> Option<&Route> {
        self.routes.get(&id)
    }

    /// The tenants whose management endpoint sits at an address.
    pub fn endpoint_tenants(&self, address: IpAddr) -> impl Iterator<Item = i64> + '_ {
        self.endpoint_at
            .get(&address)
            .into_iter()
            .flatten()
            .copied()
    }

    pub fn tenant_of_vpc(&self, vpc: i64) -> Option<i64> {
        self.vpcs.get(&vpc).map(|vpc| vpc.tenant_id)
    }

    pub fn size(&self) -> Size {
        Size {
            vpcs: self.vpcs.len(),
            interfaces: self.interfaces.iter().flatten().count(),
            group_rules: self
                .groups
                .values()
                .map(|(_, rules)| rules[0].len() + rules[1].len())
                .sum(),
            acl_rules: self
                .subnets
                .values()
                .map(|subnet| subnet.acl.as_ref().map_or(0, Vec::len))
                .sum(),
            firewall_rules: self.firewall.values().map(Vec::len).sum(),
            peerings: self.peerings.len(),
        }
    }

    /// Rebuilds a group's matchers after its rules changed.
    fn rematch(&mut self, group: i64) {
        match self.groups.get(&group) {
            Some((_, rules)) => {
                let matchers = [0, 1].map(|direction| {
                    rules[direction]
                        .iter()
                        .map(|rule| Matcher::of(&rule.remote))
                        .collect()
                });
                self.matchers.insert(group, matchers);
            }
            None => {
                self.matchers.remove(&group);
            }
        }
    }

    fn matches(&self, matcher: &Matcher, address: Address) -> bool {
        match matcher {
            Matcher::V4 { net, mask } => address.v4.is_some_and(|bits| bits & mask == *net),
            Matcher::V6 { net, mask } => address.v6.is_some_and(|bits| bits & mask == *net),
            Matcher::Group(group) => self
                .members
                .get(group)
                .is_some_and(|members| members.contains(&address.ip)),
        }
    }

    /// A group's rules of one direction with their matchers.
    fn rules_with_matchers(
        &self,
        group: i64,
        direction: Direction,
    ) -> impl Iterator<Item = (&GroupRule, &Matcher)> {
        let rules = self
            .groups
            .get(&group)
            .map(|(_, rules)| &rules[slot(direction)]);
        let matchers = self
            .matchers
            .get(&group)
            .map(|matchers| &matchers[slot(direction)]);
        rules
            .into_iter()
            .flatten()
            .zip(matchers.into_iter().flatten())
    }

    /// The rules of an interface's groups for one direction whose remote matches the
    /// other side, in decision order (merged across groups).
    fn group_candidates(
        &self,
        interface: &Interface,
        direction: Direction,
        other: IpAddr,
    ) -> Vec<&GroupRule> {
        let address = Address::of(other);
        let mut candidates: Vec<&GroupRule> = interface
            .groups
            .iter()
            .flat_map(|id| self.rules_with_matchers(*id, direction))
            .filter(|(_, matcher)| self.matches(matcher, address))
            .map(|(rule, _)| rule)
            .collect();
        if interface.groups.len() > 1 {
            candidates.sort_by_key(|rule| decision_order(rule));
        }
        candidates
    }

    fn groups_hop(&self, interface: &Interface, direction: Direction, flow: &Flow) -> Hop {
        let other = match direction {
            Direction::Ingress => flow.src,
            Direction::Egress => flow.dst,
        };
        // The first matching rule of each group; the earliest of those decides.
        let address = Address::of(other);
        let decided = interface
            .groups
            .iter()
            .filter_map(|id| {
                self.rules_with_matchers(*id, direction)
                    .find(|(rule, matcher)| {
                        rule.protocol.covers(flow.protocol)
                            && rule.ports.contains(flow.port)
                            && self.matches(matcher, address)
                    })
                    .map(|(rule, _)| rule)
            })
            .min_by_key(|rule| decision_order(rule));
        let stage = match direction {
            Direction::Ingress => Stage::DestinationGroups,
            Direction::Egress => Stage::SourceGroups,
        };
        match decided {
            Some(rule) => Hop {
                stage,
                allowed: rule.action == Action::Allow,
                decided_by: Decider::GroupRule(rule.id),
            },
            None => Hop {
                stage,
                allowed: direction == Direction::Egress,
                decided_by: Decider::Default,
            },
        }
    }

    fn acl_rules(
        &self,
        subnet_id: i64,
        direction: Direction,
    ) -> Option<impl Iterator<Item = &AclRule>> {
        let rules = self.subnets.get(&subnet_id)?.acl.as_ref()?;
        Some(rules.iter().filter(move |rule| rule.direction == direction))
    }

    fn acl_hop(&self, subnet_id: i64, direction: Direction, flow: &Flow) -> Option<Hop> {
        let mut rules = self.acl_rules(subnet_id, direction)?;
        let other = match direction {
            Direction::Ingress => flow.src,
            Direction::Egress => flow.dst,
        };
        let stage = match direction {
            Direction::Ingress => Stage::DestinationAcl,
            Direction::Egress => Stage::SourceAcl,
        };
        let decided = rules.find(|rule| {
            rule.protocol.covers(flow.protocol)
                && rule.ports.contains(flow.port)
                && rule.remote.contains(&other)
        });
        Some(match decided {
            Some(rule) => Hop {
                stage,
                allowed: rule.action == Action::Allow,
                decided_by: Decider::AclRule(rule.id),
            },
            None => Hop {
                stage,
                allowed: false,
                decided_by: Decider::Default,
            },
        })
    }

    fn firewall_hop(&self, tenant_id: i64, stage: Stage, flow: &Flow) -> Hop {
        let decided = self.firewall.get(&tenant_id).and_then(|rules| {
            rules.iter().find(|rule| {
                !(rule.layer7 && rule.action == Action::Deny)
                    && rule.protocol.covers(flow.protocol)
                    && rule.ports.contains(flow.port)
                    && rule.source.contains(&flow.src)
                    && rule.destination.contains(&flow.dst)
            })
        });
        match decided {
            Some(rule) => Hop {
                stage,
                allowed: rule.action == Action::Allow,
                decided_by: Decider::FirewallRule(rule.id),
            },
            None => Hop {
                stage,
                allowed: false,
                decided_by: Decider::Default,
            },
        }
    }

    /// The longest-prefix route of a VPC covering an address; `None` when the VPC has no
    /// route table (its peerings route implicitly, as clouds propagate them).
    pub fn route_for(&self, vpc: i64, address: IpAddr) -> Option<Option<&Route>> {
        let table = self.route_table.get(&vpc)?;
        Some(
            table
                .iter()
                .find(|route| route.destination.contains(&address)),
        )
    }

    /// How traffic from one VPC reaches another: the peering that carries it and the
    /// route that chose it, or why it does not (the refusing hop).
    fn path_hop(&self, from: &Interface, to: &Interface) -> Hop {
        let refused = |decided_by| Hop {
            stage: Stage::Peering,
            allowed: false,
            decided_by,
        };
        let Some(peerings) = self.peered.get(&vpc_pair(from.vpc_id, to.vpc_id)) else {
            return refused(Decider::Default);
        };
        // Each side's route table (when it has one) must send the other's address, and
        // the replies, over a peering between the two.
        let mut via_route = None;
        for (vpc, address) in [(from.vpc_id, to.address), (to.vpc_id, from.address)] {
            match self.route_for(vpc, address) {
                None => {}
                Some(None) => return refused(Decider::Default),
                Some(Some(route)) => match route.next_hop {
                    NextHop::Peering(id) if peerings.contains(&id) => {
                        via_route.get_or_insert(route.id);
                    }
                    _ => return refused(Decider::Route(route.id)),
                },
            }
        }
        let peering = match via_route.and_then(|route| match self.routes[&route].next_hop {
            NextHop::Peering(id) => Some(id),
            _ => None,
        }) {
            Some(id) => id,
            None => *peerings.iter().next().unwrap_or(&0),
        };
        Hop {
            stage: Stage::Peering,
            allowed: true,
            decided_by: Decider::Peering(peering),
        }
    }

    /// Decides a flow between two addresses of the model. `None` when either address is
    /// no interface of ours or is ambiguous (reused private space: ask by interface).
    pub fn decide(&self, flow: &Flow) -> Option<Verdict> {
        let source = match self.at_address(flow.src) {
            [index] => *index,
            _ => return None,
        };
        let destination = match self.at_address(flow.dst) {
            [index] => *index,
            _ => return None,
        };
        self.decide_between(source, destination, flow.protocol, flow.port)
    }

    /// Decides a flow between two interfaces.
    pub fn decide_between(
        &self,
        source: InterfaceIndex,
        destination: InterfaceIndex,
        protocol: Protocol,
        port: u16,
    ) -> Option<Verdict> {
        let from = self.interface_at(source)?;
        let to = self.interface_at(destination)?;
        let flow = Flow {
            src: from.address,
            dst: to.address,
            protocol,
            port,
        };
        let mut hops = Vec::new();
        let push = |hop: Hop, hops: &mut Vec<Hop>| -> bool {
            let allowed = hop.allowed;
            hops.push(hop);
            allowed
        };
        let done = |hops: Vec<Hop>| {
            Some(Verdict {
                allowed: hops.iter().all(|hop| hop.allowed),
                hops,
            })
        };
        if !push(self.groups_hop(from, Direction::Egress, &flow), &mut hops) {
            return done(hops);
        }
        if let Some(hop) = self.acl_hop(from.subnet_id, Direction::Egress, &flow) {
            if !push(hop, &mut hops) {
                return done(hops);
            }
        }
        if from.vpc_id != to.vpc_id {
            if !push(self.path_hop(from, to), &mut hops) {
                return done(hops);
            }
            // A tenant's firewall stands on its north-south path only when it has one.
            for (tenant, stage) in [
                (self.tenant_of_vpc(from.vpc_id), Stage::SourceFirewall),
                (self.tenant_of_vpc(to.vpc_id), Stage::DestinationFirewall),
            ] {
                let Some(tenant) = tenant.filter(|tenant| self.firewall.contains_key(tenant))
                else {
                    continue;
                };
                if !push(self.firewall_hop(tenant, stage, &flow), &mut hops) {
                    return done(hops);
                }
            }
        }
        if let Some(hop) = self.acl_hop(to.subnet_id, Direction::Ingress, &flow) {
            if !push(hop, &mut hops) {
                return done(hops);
            }
        }
        push(self.groups_hop(to, Direction::Ingress, &flow), &mut hops);
        done(hops)
    }

    /// Everything that can pass from one interface to another, every protocol and port
    /// at once, hop by hop as `decide_between` asks them.
    pub fn allowed_between(&self, source: InterfaceIndex, destination: InterfaceIndex) -> Passage {
        let mut passage = Passage::default();
        let (Some(from), Some(to)) = (self.interface_at(source), self.interface_at(destination))
        else {
            return passage;
        };
        let group_set = |interface: &Interface, direction: Direction, other: IpAddr| {
            let default = match direction {
                Direction::Ingress => Action::Deny,
                Direction::Egress => Action::Allow,
            };
            first_match(
                self.group_candidates(interface, direction, other)
                    .into_iter()
                    .map(|rule| (rule.protocol, rule.ports, rule.action)),
                default,
            )
        };
        let acl_set = |subnet: i64, direction: Direction, other: IpAddr| {
            self.acl_rules(subnet, direction).map(|rules| {
                first_match(
                    rules
                        .filter(|rule| rule.remote.contains(&other))
                        .map(|rule| (rule.protocol, rule.ports, rule.action)),
                    Action::Deny,
                )
            })
        };
        let mut allowed = group_set(from, Direction::Egress, to.address);
        if let Some(set) = acl_set(from.subnet_id, Direction::Egress, to.address) {
            allowed = allowed.intersect(&set);
        }
        if from.vpc_id != to.vpc_id {
            if !self.path_hop(from, to).allowed {
                return passage;
            }
            passage.crosses = true;
            for vpc in [from.vpc_id, to.vpc_id] {
                let Some(tenant) = self.tenant_of_vpc(vpc) else {
                    passage.firewalls.push(None);
                    continue;
                };
                let Some(rules) = self.firewall.get(&tenant) else {
                    passage.firewalls.push(None);
                    continue;
                };
                let set = first_match(
                    rules
                        .iter()
                        .filter(|rule| {
                            !(rule.layer7 && rule.action == Action::Deny)
                                && rule.source.contains(&from.address)
                                && rule.destination.contains(&to.address)
                        })
                        .map(|rule| (rule.protocol, rule.ports, rule.action)),
                    Action::Deny,
                );
                allowed = allowed.intersect(&set);
                passage.firewalls.push(Some(set));
            }
        }
        if let Some(set) = acl_set(to.subnet_id, Direction::Ingress, from.address) {
            allowed = allowed.intersect(&set);
        }
        allowed = allowed.intersect(&group_set(to, Direction::Ingress, from.address));
        passage.allowed = allowed;
        passage
    }

    /// Recomputes what is approved from one VPC to another (after a change).
    fn reapprove(&mut self, from_vpc: i64, to_vpc: i64) {
        let mut set = PortSet::empty();
        for rule in self.exchanges.values() {
            if rule.from_vpc == from_vpc && rule.to_vpc == to_vpc {
                set.insert(rule.protocol, rule.ports);
            }
        }
        if set.is_empty() {
            self.approved.remove(&(from_vpc, to_vpc));
        } else {
            self.approved.insert((from_vpc, to_vpc), set);
        }
    }

    /// What the management unit approved from one VPC to another.
    pub fn approved(&self, from_vpc: i64, to_vpc: i64) -> PortSet {
        self.approved
            .get(&(from_vpc, to_vpc))
            .cloned()
            .unwrap_or_default()
    }
}

/// A rule's remote, ready for quick matching.
#[derive(Clone, Copy, Debug)]
enum Matcher {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
    Group(i64),
}

impl Matcher {
    fn of(remote: &Remote) -> Matcher {
        match remote {
            Remote::Cidr(IpNet::V4(net)) => Matcher::V4 {
                net: u32::from(net.network()),
                mask: u32::from(net.netmask()),
            },
            Remote::Cidr(IpNet::V6(net)) => Matcher::V6 {
                net: u128::from(net.network()),
                mask: u128::from(net.netmask()),
            },
            Remote::Group(group) => Matcher::Group(*group),
        }
    }
}

/// An address in the forms the matchers compare.
#[derive(Clone, Copy, Debug)]
struct Address {
    ip: IpAddr,
    v4: Option<u32>,
    v6: Option<u128>,
}

impl Address {
    fn of(ip: IpAddr) -> Address {
        match ip {
            IpAddr::V4(v4) => Address {
                ip,
                v4: Some(u32::from(v4)),
                v6: None,
            },
            IpAddr::V6(v6) => Address {
                ip,
                v4: None,
                v6: Some(u128::from(v6)),
            },
        }
    }
}

/// What can pass between two interfaces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passage {
    /// Every (protocol, port) that passes every hop.
    pub allowed: PortSet,
    /// Whether the path leaves the VPC (through a peering).
    pub crosses: bool,
    /// Source and destination tenants' firewalls on the path: what each allows, or
    /// `None` when that tenant has no firewall (nothing explicit allows it).
    pub firewalls: Vec<Option<PortSet>>,
}

/// What a change touched, for the verifier to re-check.
#[derive(Clone, Debug, Default)]
pub struct Touched {
    pub groups: BTreeSet<i64>,
    pub interfaces: BTreeSet<InterfaceIndex>,
    /// Interfaces a change removed or replaced, as they were.
    pub removed: Vec<(InterfaceIndex, Interface)>,
    pub hosts: BTreeSet<i64>,
    pub subnets: BTreeSet<i64>,
    pub tenants: BTreeSet<i64>,
    pub vpcs: BTreeSet<i64>,
    pub vpc_pairs: BTreeSet<(i64, i64)>,
    pub routes: BTreeSet<i64>,
    pub addresses: BTreeSet<IpAddr>,
    pub firewall_rules: BTreeSet<i64>,
}

/// How big a network is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub vpcs: usize,
    pub interfaces: usize,
    pub group_rules: usize,
    pub acl_rules: usize,
    pub firewall_rules: usize,
    pub peerings: usize,
}

/// A rule's ports as shown to people.
pub fn ports_text(protocol: Protocol, ports: Ports) -> String {
    if protocol == Protocol::Icmp {
        return "icmp".into();
    }
    if ports == Ports::ALL {
        format!("{}/all", protocol.as_str())
    } else if ports.from == ports.to {
        format!("{}/{}", protocol.as_str(), ports.from)
    } else {
        format!("{}/{}-{}", protocol.as_str(), ports.from, ports.to)
    }
}
