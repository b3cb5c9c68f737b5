//! The symbolic evaluation and the invariants against a second, independent oracle: a
//! BDD over (protocol, port) built from the model's rules with first-match written as
//! plain Boolean algebra (biodivine-lib-bdd); the per-pair passage against the concrete
//! engine on every port; and incremental verification against verifying from scratch
//! after every one of a run of random changes.

use std::collections::BTreeSet;

use biodivine_lib_bdd::{Bdd, BddVariableSet};
use yunjian_network::checks::{Finding, Invariant, Key, Subject};
use yunjian_network::engine::Change;
use yunjian_network::verify::Verifier;

use super::*;

/// 2 protocol bits (tcp 00, udp 01, icmp 10) and 16 port bits, most significant first.
struct Space {
    vars: BddVariableSet,
}

impl Space {
    fn new() -> Space {
        Space {
            vars: BddVariableSet::new_anonymous(18),
        }
    }

    fn bit(&self, index: usize) -> Bdd {
        self.vars.mk_var(self.vars.variables()[index])
    }

    fn protocol(&self, protocol: Protocol) -> Bdd {
        let (p0, p1) = (self.bit(0), self.bit(1));
        match protocol {
            Protocol::Tcp => p0.not().and(&p1.not()),
            Protocol::Udp => p0.not().and(&p1),
            Protocol::Icmp => p0.and(&p1.not()),
            Protocol::Any => p0.and(&p1).not(),
        }
    }

    /// port >= low, bit by bit from the most significant.
    fn at_least(&self, low: u16, bit: i32) -> Bdd {
        if bit < 0 {
            return self.vars.mk_true();
        }
        let x = self.bit(2 + (15 - bit) as usize);
        let rest = self.at_least(low, bit - 1);
        if (low >> bit) & 1 == 1 {
            x.and(&rest)
        } else {
            x.or(&rest)
        }
    }

    fn at_most(&self, high: u16, bit: i32) -> Bdd {
        if bit < 0 {
            return self.vars.mk_true();
        }
        let x = self.bit(2 + (15 - bit) as usize);
        let rest = self.at_most(high, bit - 1);
        if (high >> bit) & 1 == 1 {
            x.not().or(&rest)
        } else {
            x.not().and(&rest)
        }
    }

    fn matches(&self, protocol: Protocol, ports: Ports) -> Bdd {
        self.protocol(protocol)
            .and(&self.at_least(ports.from, 15))
            .and(&self.at_most(ports.to, 15))
    }

    /// First match as algebra: a rule decides where it matches and no earlier rule does.
    fn first_match(&self, rules: &[(Protocol, Ports, Action)], default_allow: bool) -> Bdd {
        let mut earlier = self.vars.mk_false();
        let mut allowed = self.vars.mk_false();
        for (protocol, ports, action) in rules {
            let here = self.matches(*protocol, *ports);
            if *action == Action::Allow {
                allowed = allowed.or(&here.and_not(&earlier));
            }
            earlier = earlier.or(&here);
        }
        if default_allow {
            allowed = allowed.or(&self.protocol(Protocol::Any).and_not(&earlier));
        }
        allowed
    }
}

fn member(model: &Model, group: i64, address: IpAddr) -> bool {
    model
        .interfaces
        .iter()
        .any(|i| i.address == address && i.groups.contains(&group))
}

/// What passes from one interface to another, as the oracle sees it (no peering or
/// route reasoning beyond "the two VPCs are peered").
fn oracle_passage(
    space: &Space,
    model: &Model,
    from: &Interface,
    to: &Interface,
) -> (Bdd, Option<(Bdd, Bdd)>) {
    let groups = |interface: &Interface, direction: Direction, other: IpAddr| {
        let mut rules: Vec<&GroupRule> = model
            .groups
            .iter()
            .filter(|g| interface.groups.contains(&g.id))
            .flat_map(|g| g.rules.iter())
            .filter(|r| r.direction == direction)
            .filter(|r| match &r.remote {
                Remote::Cidr(net) => net.contains(&other),
                Remote::Group(id) => member(model, *id, other),
            })
            .collect();
        rules.sort_by_key(|r| (r.priority, r.action != Action::Deny, r.id));
        let list: Vec<_> = rules
            .iter()
            .map(|r| (r.protocol, r.ports, r.action))
            .collect();
        space.first_match(&list, direction == Direction::Egress)
    };
    let acl = |subnet: i64, direction: Direction, other: IpAddr| {
        let subnet = model.subnets.iter().find(|s| s.id == subnet)?;
        let mut rules: Vec<&AclRule> = subnet
            .acl
            .as_ref()?
            .iter()
            .filter(|r| r.direction == direction && r.remote.contains(&other))
            .collect();
        rules.sort_by_key(|r| (r.order, r.id));
        let list: Vec<_> = rules
            .iter()
            .map(|r| (r.protocol, r.ports, r.action))
            .collect();
        Some(space.first_match(&list, false))
    };
    let mut allowed = groups(from, Direction::Egress, to.address);
    if let Some(set) = acl(from.subnet_id, Direction::Egress, to.address) {
        allowed = allowed.and(&set);
    }
    let mut firewalls = None;
    if from.vpc_id != to.vpc_id {
        let peered = model.peerings.iter().any(|p| {
            (p.vpc_a, p.vpc_b) == (from.vpc_id, to.vpc_id)
                || (p.vpc_b, p.vpc_a) == (from.vpc_id, to.vpc_id)
        });
        if !peered {
            return (space.vars.mk_false(), None);
        }
        let tenant = |vpc: i64| model.vpcs.iter().find(|v| v.id == vpc).map(|v| v.tenant_id);
        let firewall = |tenant: Option<i64>| -> Option<Bdd> {
            let tenant = tenant?;
            let mut rules: Vec<&FirewallRule> = model
                .firewall
                .iter()
                .filter(|r| r.tenant_id == tenant)
                .collect();
            if rules.is_empty() {
                return None;
            }
            rules.sort_by_key(|r| (r.order, r.id));
            let list: Vec<_> = rules
                .iter()
                .filter(|r| r.source.contains(&from.address) && r.destination.contains(&to.address))
                .map(|r| (r.protocol, r.ports, r.action))
                .collect();
            Some(space.first_match(&list, false))
        };
        let a = firewall(tenant(from.vpc_id));
        let b = firewall(tenant(to.vpc_id));
        for set in [&a, &b].into_iter().flatten() {
            allowed = allowed.and(set);
        }
        let falsy = || space.vars.mk_false();
        firewalls = Some((a.unwrap_or_else(falsy), b.unwrap_or_else(falsy)));
    }
    if let Some(set) = acl(to.subnet_id, Direction::Ingress, from.address) {
        allowed = allowed.and(&set);
    }
    allowed = allowed.and(&groups(to, Direction::Ingress, from.address));
    (allowed, firewalls)
}

/// The union of the findings' port ranges of one invariant on one ordered pair.
fn findings_bdd(
    space: &Space,
    findings: &[&Finding],
    invariant: Invariant,
    from: &Interface,
    to: &Interface,
) -> Bdd {
    let mut set = space.vars.mk_false();
    for finding in findings {
        let Subject::Path {
            sources,
            destinations,
            ..
        } = &finding.subject
        else {
            continue;
        };
        // A finding holds for every pair of its sources and destinations.
        let holds = sources
            .iter()
            .any(|end| end.vm_id == from.vm_id && end.address == from.address)
            && destinations
                .iter()
                .any(|end| end.vm_id == to.vm_id && end.address == to.address);
        if finding.invariant != invariant || !holds {
            continue;
        }
        for (protocol, ports) in &finding.ports {
            set = set.or(&space.matches(*protocol, *ports));
        }
    }
    set
}

/// Worlds with two zones (VPC 3 in the other zone) and a management endpoint of tenant 0
/// at the first interface, made permeable so paths exist.
fn zoned(model: Model) -> Model {
    let mut model = reachable(model);
    for vpc in &mut model.vpcs {
        if vpc.id == 3 {
            vpc.zone_id = 2;
        }
    }
    model.zones = vec![
        Zone {
            id: 1,
            internet: false,
        },
        Zone {
            id: 2,
            internet: true,
        },
    ];
    model.endpoints = vec![ManagementEndpoint {
        id: 1,
        tenant_id: 0,
        address: model.interfaces[0].address,
    }];
    model
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Cross-tenant, zone and management-reach findings equal, pair by pair and flow by
    /// flow, what the BDD oracle derives from the rules.
    #[test]
    fn invariants_agree_with_the_bdd_oracle(model in world().prop_map(zoned)) {
        let space = Space::new();
        let verifier = Verifier::new(Network::compile(model.clone()));
        let findings = verifier.findings();
        let tenant = |vpc: i64| model.vpcs.iter().find(|v| v.id == vpc).map(|v| v.tenant_id);
        let zone = |vpc: i64| model.vpcs.iter().find(|v| v.id == vpc).map(|v| v.zone_id);
        let mut violations = 0.0;
        for from in &model.interfaces {
            for to in &model.interfaces {
                if from.vpc_id == to.vpc_id {
                    continue;
                }
                let (allowed, firewalls) = oracle_passage(&space, &model, from, to);
                let mut cross = space.vars.mk_false();
                if tenant(from.vpc_id) != tenant(to.vpc_id) {
                    let mut approved = space.vars.mk_false();
                    for rule in model.exchanges.iter().filter(|r| r.from_vpc == from.vpc_id && r.to_vpc == to.vpc_id) {
                        approved = approved.or(&space.matches(rule.protocol, rule.ports));
                    }
                    let explicit = firewalls.map_or(space.vars.mk_false(), |(a, b)| a.and(&b));
                    cross = allowed.and_not(&approved.and(&explicit));
                }
                let got = findings_bdd(&space, &findings, Invariant::CrossTenantPath, from, to);
                prop_assert!(got.iff(&cross).is_true(), "cross-tenant {:?} -> {:?}", from.address, to.address);
                violations += cross.cardinality();
                let zones = if zone(from.vpc_id) != zone(to.vpc_id) { allowed.clone() } else { space.vars.mk_false() };
                let got = findings_bdd(&space, &findings, Invariant::ZoneSeparation, from, to);
                prop_assert!(got.iff(&zones).is_true(), "zones {:?} -> {:?}", from.address, to.address);
                let reach = if from.address == model.interfaces[0].address && tenant(to.vpc_id) != Some(0) {
                    allowed.clone()
                } else {
                    space.vars.mk_false()
                };
                let got = findings_bdd(&space, &findings, Invariant::ManagementReach, from, to);
                prop_assert!(got.iff(&reach).is_true(), "management {:?} -> {:?}", from.address, to.address);
            }
        }
        prop_assume!(violations > 0.0);
    }

    /// The symbolic passage of every pair equals the concrete engine asked port by port.
    #[test]
    fn the_symbolic_passage_equals_the_concrete_decision(model in world().prop_map(reachable)) {
        let network = Network::compile(model);
        let indices: Vec<usize> = network.interfaces().map(|(i, _)| i).collect();
        for &a in indices.iter().step_by(3) {
            for &b in &indices {
                let passage = network.allowed_between(a, b);
                for protocol in yunjian_network::ports::PROTOCOLS {
                    for port in 0..=2400u16 {
                        let verdict = network.decide_between(a, b, protocol, port).expect("verdict");
                        prop_assert_eq!(passage.allowed.contains(protocol, port), verdict.allowed, "{} -> {} {:?}/{}", a, b, protocol, port);
                    }
                }
            }
        }
    }
}

/// Random changes of every kind, as indices into the world.
fn change(model: &Model, pick: (u8, u64, u64, u16)) -> Change {
    let (kind, x, y, port) = pick;
    let group = &model.groups[(x % model.groups.len() as u64) as usize];
    let interface = &model.interfaces[(y % model.interfaces.len() as u64) as usize];
    let ports = Ports {
        from: port,
        to: port.saturating_add(50),
    };
    match kind % 9 {
        0 => Change::UpsertGroupRule {
            rule: GroupRule {
                id: 50_000 + (x % 7) as i64,
                group_id: group.id,
                direction: if y % 2 == 0 {
                    Direction::Ingress
                } else {
                    Direction::Egress
                },
                priority: (y % 5) as i64 + 1,
                action: if x % 3 == 0 {
                    Action::Deny
                } else {
                    Action::Allow
                },
                protocol: Protocol::Tcp,
                ports,
                remote: Remote::Cidr(net("10.0.0.0/8")),
            },
        },
        1 => match group.rules.first() {
            Some(rule) => Change::RemoveGroupRule {
                group_id: group.id,
                rule_id: rule.id,
            },
            None => Change::RemovePeering { id: 1 },
        },
        2 => {
            let mut moved = interface.clone();
            moved.groups = vec![group.id];
            moved.host_id = Some((x % 3) as i64);
            Change::UpsertInterface { interface: moved }
        }
        3 => Change::RemoveInterface {
            vm_id: interface.vm_id,
            address: interface.address,
        },
        4 => Change::UpsertAclRule {
            subnet_id: interface.subnet_id,
            rule: AclRule {
                id: 60_000 + (x % 3) as i64,
                direction: Direction::Ingress,
                order: 0,
                action: if x % 2 == 0 {
                    Action::Deny
                } else {
                    Action::Allow
                },
                protocol: Protocol::Any,
                ports,
                remote: net("10.0.0.0/8"),
            },
        },
        5 => Change::UpsertFirewallRule {
            rule: FirewallRule {
                id: 70_000 + (x % 3) as i64,
                tenant_id: (y % 2) as i64,
                order: 0,
                action: if x % 2 == 0 {
                    Action::Deny
                } else {
                    Action::Allow
                },
                protocol: Protocol::Tcp,
                ports,
                source: net("10.0.0.0/8"),
                destination: net("10.0.0.0/8"),
                layer7: false,
            },
        },
        6 => match model.peerings.get((x % 8) as usize) {
            Some(peering) if y % 2 == 0 => Change::RemovePeering { id: peering.id },
            _ => Change::UpsertPeering {
                peering: Peering {
                    id: 80_000 + (x % 4) as i64,
                    vpc_a: (x % 4) as i64,
                    vpc_b: (y % 4) as i64,
                },
            },
        },
        7 => Change::UpsertExchange {
            rule: ExchangeRule {
                id: 90_000 + (x % 3) as i64,
                from_vpc: (x % 4) as i64,
                to_vpc: (y % 4) as i64,
                protocol: Protocol::Tcp,
                ports,
            },
        },
        _ => Change::UpsertEndpoint {
            endpoint: ManagementEndpoint {
                id: 1 + (x % 2) as i64,
                tenant_id: (y % 2) as i64,
                address: interface.address,
            },
        },
    }
}

fn as_set(findings: Vec<&Finding>) -> BTreeSet<String> {
    findings.into_iter().map(identity).collect()
}

/// A finding's identity for set comparison (its Debug text: total and stable).
fn identity(finding: &Finding) -> String {
    format!("{finding:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// After each of 40 random changes, the incrementally kept findings equal a full
    /// verification of the changed network, and the delta is exactly the difference.
    #[test]
    fn incremental_verification_equals_verifying_from_scratch(
        model in world().prop_map(zoned),
        picks in proptest::collection::vec((any::<u8>(), any::<u64>(), any::<u64>(), 0u16..2000), 40),
    ) {
        let mut verifier = Verifier::new(Network::compile(model.clone()));
        let mut changed = 0;
        for pick in picks {
            let before = as_set(verifier.findings());
            let change = change(&model, pick);
            let delta = verifier.apply(&change);
            let after = as_set(verifier.findings());
            let fresh = Verifier::new(Network::compile(verifier.network().to_model()));
            let expected = as_set(fresh.findings());
            // Interface indices differ after a rebuild; compare findings, not keys.
            let missing: Vec<_> = expected.difference(&after).collect();
            let extra: Vec<_> = after.difference(&expected).collect();
            prop_assert!(missing.is_empty() && extra.is_empty(), "after {:?}: missing {:?}, extra {:?}", change, missing.first(), extra.first());
            let appeared: BTreeSet<String> = delta.appeared.iter().map(identity).collect();
            let disappeared: BTreeSet<String> = delta.disappeared.iter().map(identity).collect();
            prop_assert_eq!(appeared, after.difference(&before).cloned().collect::<BTreeSet<_>>());
            prop_assert_eq!(disappeared, before.difference(&after).cloned().collect::<BTreeSet<_>>());
            if before != after {
                changed += 1;
            }
        }
        prop_assume!(changed > 0);
    }
}

#[test]
fn keys_order_pairs_before_groups_hosts_and_routes() {
    let mut keys = [Key::Route(1), Key::Host(1), Key::Group(1), Key::Path(0, 1)];
    keys.sort();
    assert_eq!(keys[0], Key::Path(0, 1));
}
