//! The guide's isolation invariants checked over all flows, not samples (5.2.2, 7.5.9.5,
//! 7.5.11, 7.5.12). Between two interfaces every predicate of the model is an interval
//! of ports per protocol, so the port space splits into atoms — maximal ranges no rule
//! boundary cuts — and one representative port per atom decides the whole atom. Asking
//! every pair of interfaces every atom is asking every flow between them.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::engine::{Decider, Network, Verdict};
use crate::model::{Flow, Ports, Protocol};

/// The protocols a flow can have.
pub const PROTOCOLS: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp];

/// Disjoint port ranges covering 0–65535 per protocol, cut at every boundary any rule,
/// ACL, firewall rule or exchange rule of that protocol (or of `any`) draws.
pub fn port_atoms(network: &Network) -> Vec<(Protocol, Ports)> {
    let model = network.model();
    let mut atoms = Vec::new();
    for protocol in PROTOCOLS {
        let mut cuts: BTreeSet<u32> = BTreeSet::from([0, 65_536]);
        let mut cut = |rule_protocol: Protocol, ports: Ports| {
            if rule_protocol.covers(protocol) {
                cuts.insert(u32::from(ports.from));
                cuts.insert(u32::from(ports.to) + 1);
            }
        };
        for group in &model.groups {
            for rule in &group.rules {
                cut(rule.protocol, rule.ports);
            }
        }
        for subnet in &model.subnets {
            for rule in subnet.acl.iter().flatten() {
                cut(rule.protocol, rule.ports);
            }
        }
        for rule in &model.firewall {
            cut(rule.protocol, rule.ports);
        }
        for rule in &model.exchanges {
            cut(rule.protocol, rule.ports);
        }
        let cuts: Vec<u32> = cuts.into_iter().collect();
        for pair in cuts.windows(2) {
            atoms.push((
                protocol,
                Ports {
                    from: pair[0] as u16,
                    to: (pair[1] - 1) as u16,
                },
            ));
        }
    }
    atoms
}

/// What a violation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Two tenants' VPCs reach each other where no exchange rule allows it, or not
    /// through an explicit firewall allow on both sides (5.2.2, 7.5.12).
    CrossTenantPath,
}

/// One violation: a concrete example flow, the ports it stands for and the rules that
/// let it through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub invariant: Invariant,
    pub tenants: (i64, i64),
    pub vpcs: (i64, i64),
    pub example: Flow,
    pub ports: Ports,
    pub reason: &'static str,
    pub verdict: Verdict,
}

/// Cross-tenant reachability over every pair of interfaces and every port atom: each
/// allowed flow needs an exchange rule covering it and an explicit allow by a firewall
/// rule of both tenants. Adjacent atoms of one pair with the same reason merge.
pub fn cross_tenant(network: &Network) -> Vec<Finding> {
    let model = network.model();
    let tenant_of = |vpc: i64| {
        model
            .vpcs
            .iter()
            .find(|candidate| candidate.id == vpc)
            .map(|found| found.tenant_id)
    };
    let atoms = port_atoms(network);
    let mut findings: Vec<Finding> = Vec::new();
    for from in &model.interfaces {
        for to in &model.interfaces {
            let (Some(a), Some(b)) = (tenant_of(from.vpc_id), tenant_of(to.vpc_id)) else {
                continue;
            };
            if a == b {
                continue;
            }
            for (protocol, ports) in &atoms {
                let flow = Flow {
                    src: from.address,
                    dst: to.address,
                    protocol: *protocol,
                    port: ports.from,
                };
                let Some(verdict) = network.decide(&flow) else {
                    continue;
                };
                if !verdict.allowed {
                    continue;
                }
                let approved = model.exchanges.iter().any(|rule| {
                    rule.from_vpc == from.vpc_id
                        && rule.to_vpc == to.vpc_id
                        && rule.protocol.covers(*protocol)
                        && rule.ports.contains(ports.from)
                });
                let firewalls = verdict
                    .hops
                    .iter()
                    .filter(|hop| matches!(hop.decided_by, Decider::FirewallRule(_)))
                    .count();
                let reason = match (approved, firewalls == 2) {
                    (true, true) => continue,
                    (false, _) => "no exchange rule allows this flow",
                    (true, false) => "an exchange rule allows it, but it does not pass an explicit firewall allow of both tenants",
                };
                if let Some(last) = findings.last_mut() {
                    if last.example.src == flow.src
                        && last.example.dst == flow.dst
                        && last.example.protocol == flow.protocol
                        && last.reason == reason
                        && u32::from(last.ports.to) + 1 == u32::from(ports.from)
                    {
                        last.ports.to = ports.to;
                        continue;
                    }
                }
                findings.push(Finding {
                    invariant: Invariant::CrossTenantPath,
                    tenants: (a, b),
                    vpcs: (from.vpc_id, to.vpc_id),
                    example: flow,
                    ports: *ports,
                    reason,
                    verdict,
                });
            }
        }
    }
    findings
}
