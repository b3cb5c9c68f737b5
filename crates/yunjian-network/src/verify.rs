//! Full and incremental verification. Every finding lives under a key (an ordered
//! interface pair across a peering, a security group, a host, a route); a full run
//! checks every key (in parallel), a change re-checks only the keys it can affect and
//! answers which findings appeared and which disappeared.
//!
//! What a change can affect: a group rule — its group's rule findings and the peered
//! pairs its group's members stand on; an interface — its pairs and its host (before
//! and after); an ACL rule — the pairs of its subnet's interfaces; a firewall rule —
//! the pairs of its tenant's VPCs; a peering or exchange rule — the pairs across its
//! two VPCs; a route — the route and the pairs of its VPC; a management endpoint — the
//! pairs from its address.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use crate::checks::{self, Finding, Key};
use crate::engine::{Change, InterfaceIndex, Network, Touched};

/// A network with its findings, kept current through changes.
#[derive(Clone, Debug)]
pub struct Verifier {
    network: Network,
    findings: HashMap<Key, Vec<Finding>>,
}

/// What a change did to the findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub appeared: Vec<Finding>,
    pub disappeared: Vec<Finding>,
    /// How many keys were re-checked.
    pub rechecked: usize,
}

/// Every key of a network.
pub fn all_keys(network: &Network) -> Vec<Key> {
    let mut keys = checks::pair_keys(network);
    keys.extend(network.groups().map(|(id, _)| Key::Group(id)));
    keys.extend(network.hosts().map(Key::Host));
    keys.extend(network.routes().map(|route| Key::Route(route.id)));
    keys.extend(
        network
            .layer7_rules()
            .map(|rule| Key::FirewallRule(rule.id)),
    );
    keys.extend((0..network.clusters().len() as u32).map(Key::Cluster));
    keys
}

impl Verifier {
    /// Verifies everything.
    pub fn new(network: Network) -> Verifier {
        let keys = all_keys(&network);
        let found: Vec<(Key, Vec<Finding>)> = keys
            .into_par_iter()
            .with_min_len(256)
            .filter_map(|key| {
                let found = checks::check(&network, key);
                (!found.is_empty()).then_some((key, found))
            })
            .collect();
        let mut findings = HashMap::with_capacity(found.len());
        findings.extend(found);
        Verifier { network, findings }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Every finding, in a stable order (by key).
    pub fn findings(&self) -> Vec<&Finding> {
        let mut keys: Vec<&Key> = self.findings.keys().collect();
        keys.sort();
        keys.into_iter()
            .flat_map(|key| self.findings[key].iter())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.findings.values().map(Vec::len).sum()
    }

    /// Applies one change and re-checks what it can affect.
    pub fn apply(&mut self, change: &Change) -> Delta {
        let touched = self.network.apply(change);
        let keys = dirty_keys(&self.network, &touched);
        let mut delta = Delta {
            rechecked: keys.len(),
            ..Delta::default()
        };
        for key in keys {
            let fresh = checks::check(&self.network, key);
            let old = if fresh.is_empty() {
                self.findings.remove(&key).unwrap_or_default()
            } else {
                self.findings.insert(key, fresh.clone()).unwrap_or_default()
            };
            for finding in &fresh {
                if !old.contains(finding) {
                    delta.appeared.push(finding.clone());
                }
            }
            for finding in old {
                if !fresh.contains(&finding) {
                    delta.disappeared.push(finding);
                }
            }
        }
        // A finding that moved between keys (an interface re-inserted under a new
        // index) neither appeared nor disappeared.
        let mut kept = Vec::new();
        for finding in std::mem::take(&mut delta.disappeared) {
            match delta.appeared.iter().position(|other| *other == finding) {
                Some(at) => {
                    delta.appeared.swap_remove(at);
                }
                None => kept.push(finding),
            }
        }
        delta.disappeared = kept;
        delta
    }

    /// What a proposed set of changes would do, without doing it.
    pub fn what_if(&self, changes: &[Change]) -> Delta {
        let mut copy = self.clone();
        let mut total = Delta::default();
        for change in changes {
            let delta = copy.apply(change);
            total.rechecked += delta.rechecked;
            for finding in delta.disappeared {
                if let Some(at) = total.appeared.iter().position(|f| *f == finding) {
                    total.appeared.remove(at);
                } else {
                    total.disappeared.push(finding);
                }
            }
            for finding in delta.appeared {
                if let Some(at) = total.disappeared.iter().position(|f| *f == finding) {
                    total.disappeared.remove(at);
                } else {
                    total.appeared.push(finding);
                }
            }
        }
        total
    }
}

/// The paths a VPC stands on: to and from every VPC peered with it.
fn paths_of(network: &Network, vpc: i64, keys: &mut BTreeSet<Key>) {
    for peer in network.peers_of(vpc) {
        if peer != vpc {
            keys.insert(Key::Path(vpc, peer));
            keys.insert(Key::Path(peer, vpc));
        }
    }
}

fn dirty_keys(network: &Network, touched: &Touched) -> BTreeSet<Key> {
    let mut keys = BTreeSet::new();
    let mut interfaces: BTreeSet<InterfaceIndex> = touched.interfaces.clone();
    for group in &touched.groups {
        keys.insert(Key::Group(*group));
        for address in network.members(*group) {
            interfaces.extend(network.at_address(address).iter().copied());
        }
    }
    for subnet in &touched.subnets {
        if let Some(vpc) = network.subnet(*subnet).map(|subnet| subnet.vpc_id) {
            interfaces.extend(network.in_vpc(vpc).filter(|index| {
                network
                    .interface_at(*index)
                    .is_some_and(|interface| interface.subnet_id == *subnet)
            }));
        }
    }
    let mut vpcs: BTreeSet<i64> = touched.vpcs.clone();
    for tenant in &touched.tenants {
        vpcs.extend(
            network
                .vpcs()
                .filter(|vpc| vpc.tenant_id == *tenant)
                .map(|vpc| vpc.id),
        );
    }
    for address in &touched.addresses {
        interfaces.extend(network.at_address(*address).iter().copied());
    }
    for index in interfaces {
        if let Some(interface) = network.interface_at(index) {
            vpcs.insert(interface.vpc_id);
        }
    }
    for (_, old) in &touched.removed {
        vpcs.insert(old.vpc_id);
    }
    for vpc in &vpcs {
        paths_of(network, *vpc, &mut keys);
    }
    for (a, b) in &touched.vpc_pairs {
        if a != b {
            keys.insert(Key::Path(*a, *b));
            keys.insert(Key::Path(*b, *a));
        }
    }
    keys.extend(touched.hosts.iter().map(|host| Key::Host(*host)));
    keys.extend(touched.routes.iter().map(|route| Key::Route(*route)));
    keys.extend(
        touched
            .firewall_rules
            .iter()
            .map(|rule| Key::FirewallRule(*rule)),
    );
    keys
}
