//! The guide's isolation invariants checked over all flows, not samples (5.2.2, 7.5.9.5,
//! 7.5.11, 7.5.12). Between two interfaces every predicate of the model is an interval
//! of ports per protocol, so the port space splits into atoms — maximal ranges no rule
//! boundary cuts — and one representative port per atom decides the whole atom. Asking
//! every pair of interfaces every atom is asking every flow between them.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::engine::{Decider, Network, Verdict};
use crate::model::{Action, Direction, Flow, GroupRule, Ports, Protocol, Remote};

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
    /// A security group lets the whole internet reach a remote-management port
    /// (SSH, RDP, Telnet, WinRM, SMB, databases' admin ports) (7.2.2.3, 7.2.4.2).
    ManagementOpenToAll,
    /// A rule that allows every protocol and port from everywhere (5.3.5, 7.2.4.2).
    AnyToAny,
    /// A rule that can never decide a flow: an earlier rule of the same group and
    /// direction covers everything it matches.
    Shadowed,
}

/// Remote-management ports the guide's "remote management" covers.
pub const MANAGEMENT_PORTS: [u16; 7] = [22, 23, 135, 445, 3389, 5985, 5986];

/// A finding about one rule, naming the rule that makes it so when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleFinding {
    pub invariant: Invariant,
    pub group_id: i64,
    pub rule_id: i64,
    /// The earlier rule that shadows it.
    pub by: Option<i64>,
    pub reason: String,
}

fn covers_remote(outer: &Remote, inner: &Remote) -> bool {
    match (outer, inner) {
        (Remote::Cidr(outer), Remote::Cidr(inner)) => outer.contains(inner),
        (Remote::Group(outer), Remote::Group(inner)) => outer == inner,
        // A CIDR covering everything covers any group's addresses.
        (Remote::Cidr(outer), Remote::Group(_)) => outer.prefix_len() == 0,
        (Remote::Group(_), Remote::Cidr(_)) => false,
    }
}

/// Rule-level findings of every security group: management ports open to the
/// internet, any-to-any allows, and rules shadowed by one earlier rule.
pub fn group_rules(network: &Network) -> Vec<RuleFinding> {
    let mut findings = Vec::new();
    for group in &network.model().groups {
        for rule in &group.rules {
            let everywhere = matches!(&rule.remote, Remote::Cidr(net) if net.prefix_len() == 0);
            if rule.direction == Direction::Ingress && rule.action == Action::Allow && everywhere {
                let exposed: Vec<u16> = MANAGEMENT_PORTS
                    .iter()
                    .copied()
                    .filter(|port| {
                        rule.ports.contains(*port)
                            && (rule.protocol.covers(Protocol::Tcp)
                                || rule.protocol.covers(Protocol::Udp))
                    })
                    .collect();
                if rule.protocol == Protocol::Any && rule.ports == Ports::ALL {
                    findings.push(RuleFinding {
                        invariant: Invariant::AnyToAny,
                        group_id: group.id,
                        rule_id: rule.id,
                        by: None,
                        reason: "allows every protocol and port from 0.0.0.0/0".into(),
                    });
                } else if !exposed.is_empty() {
                    findings.push(RuleFinding {
                        invariant: Invariant::ManagementOpenToAll,
                        group_id: group.id,
                        rule_id: rule.id,
                        by: None,
                        reason: format!("management port(s) {exposed:?} open to 0.0.0.0/0"),
                    });
                }
            }
            let mut earlier: Vec<&GroupRule> = group
                .rules
                .iter()
                .filter(|other| other.direction == rule.direction && other.id != rule.id)
                .filter(|other| decides_before(other, rule))
                .collect();
            earlier.sort_by_key(|other| (other.priority, other.id));
            if let Some(by) = earlier.into_iter().find(|other| {
                other.protocol.covers(rule.protocol)
                    && other.ports.from <= rule.ports.from
                    && rule.ports.to <= other.ports.to
                    && covers_remote(&other.remote, &rule.remote)
            }) {
                findings.push(RuleFinding {
                    invariant: Invariant::Shadowed,
                    group_id: group.id,
                    rule_id: rule.id,
                    by: Some(by.id),
                    reason: format!("rule {} decides first everything this rule matches", by.id),
                });
            }
        }
    }
    findings
}

/// Whether `first` is asked before `second` within one group and direction.
fn decides_before(first: &GroupRule, second: &GroupRule) -> bool {
    let key = |rule: &GroupRule| (rule.priority, rule.action != Action::Deny, rule.id);
    key(first) < key(second)
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
