//! The engine against an independent oracle: a naive evaluator that scans every rule of
//! the model for each flow (no indices, no sorting), on random worlds with 100,000
//! random flows each; and hand-written cases for each hop's semantics.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use yunjian_network::engine::{Decider, Hop, Network, Stage, Verdict};
use yunjian_network::model::*;

mod containers;
mod symbolic;

/// The oracle: the same semantics written as plainly as possible.
fn oracle(model: &Model, flow: &Flow) -> Option<Verdict> {
    let from = model.interfaces.iter().find(|i| i.address == flow.src)?;
    let to = model.interfaces.iter().find(|i| i.address == flow.dst)?;
    let member = |group: i64, address: IpAddr| {
        model
            .interfaces
            .iter()
            .any(|i| i.address == address && i.groups.contains(&group))
    };
    let groups = |interface: &Interface, direction: Direction| -> Hop {
        let other = if direction == Direction::Ingress {
            flow.src
        } else {
            flow.dst
        };
        let mut best: Option<&GroupRule> = None;
        for group in &model.groups {
            if !interface.groups.contains(&group.id) {
                continue;
            }
            for rule in &group.rules {
                let remote = match &rule.remote {
                    Remote::Cidr(net) => net.contains(&other),
                    Remote::Group(id) => member(*id, other),
                };
                let matches = rule.direction == direction
                    && (rule.protocol == Protocol::Any || rule.protocol == flow.protocol)
                    && rule.ports.from <= flow.port
                    && flow.port <= rule.ports.to
                    && remote;
                if !matches {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some(current) => {
                        let key = |r: &GroupRule| (r.priority, r.action != Action::Deny, r.id);
                        key(rule) < key(current)
                    }
                };
                if better {
                    best = Some(rule);
                }
            }
        }
        let stage = if direction == Direction::Ingress {
            Stage::DestinationGroups
        } else {
            Stage::SourceGroups
        };
        match best {
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
    };
    let acl = |subnet_id: i64, direction: Direction| -> Option<Hop> {
        let subnet = model.subnets.iter().find(|s| s.id == subnet_id)?;
        let rules = subnet.acl.as_ref()?;
        let other = if direction == Direction::Ingress {
            flow.src
        } else {
            flow.dst
        };
        let stage = if direction == Direction::Ingress {
            Stage::DestinationAcl
        } else {
            Stage::SourceAcl
        };
        let best = rules
            .iter()
            .filter(|r| {
                r.direction == direction
                    && (r.protocol == Protocol::Any || r.protocol == flow.protocol)
                    && r.ports.from <= flow.port
                    && flow.port <= r.ports.to
                    && r.remote.contains(&other)
            })
            .min_by_key(|r| (r.order, r.id));
        Some(match best {
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
    };
    let firewall = |tenant: i64, stage: Stage| -> Hop {
        let best = model
            .firewall
            .iter()
            .filter(|r| {
                r.tenant_id == tenant
                    && (r.protocol == Protocol::Any || r.protocol == flow.protocol)
                    && r.ports.from <= flow.port
                    && flow.port <= r.ports.to
                    && r.source.contains(&flow.src)
                    && r.destination.contains(&flow.dst)
            })
            .min_by_key(|r| (r.order, r.id));
        match best {
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
    };
    let mut hops = vec![groups(from, Direction::Egress)];
    hops.extend(acl(from.subnet_id, Direction::Egress));
    if from.vpc_id != to.vpc_id {
        let peering = model.peerings.iter().find(|p| {
            (p.vpc_a == from.vpc_id && p.vpc_b == to.vpc_id)
                || (p.vpc_b == from.vpc_id && p.vpc_a == to.vpc_id)
        });
        hops.push(Hop {
            stage: Stage::Peering,
            allowed: peering.is_some(),
            decided_by: peering.map_or(Decider::Default, |p| Decider::Peering(p.id)),
        });
        let tenant = |vpc: i64| model.vpcs.iter().find(|v| v.id == vpc).map(|v| v.tenant_id);
        for (tenant, stage) in [
            (tenant(from.vpc_id), Stage::SourceFirewall),
            (tenant(to.vpc_id), Stage::DestinationFirewall),
        ] {
            if let Some(tenant) =
                tenant.filter(|t| model.firewall.iter().any(|r| r.tenant_id == *t))
            {
                hops.push(firewall(tenant, stage));
            }
        }
    }
    hops.extend(acl(to.subnet_id, Direction::Ingress));
    hops.push(groups(to, Direction::Ingress));
    // The engine stops at the first refusal; so does the answer compared.
    let cut = hops
        .iter()
        .position(|hop| !hop.allowed)
        .map_or(hops.len(), |index| index + 1);
    hops.truncate(cut);
    Some(Verdict {
        allowed: hops.iter().all(|hop| hop.allowed),
        hops,
    })
}

fn net(text: &str) -> IpNet {
    text.parse().expect("cidr")
}

fn ip(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, a, b, c))
}

/// A random world: 4 VPCs of 2 tenants, 2 subnets each (some with ACLs), 3 interfaces
/// per subnet, 6 groups with 1–8 rules, peerings, exchange rules and firewall rules.
fn world() -> impl Strategy<Value = Model> {
    let port = prop_oneof![Just(22u16), Just(80), Just(443), Just(3306), 0u16..2000];
    let ports = (port.clone(), 0u16..200).prop_map(|(from, span)| Ports {
        from,
        to: from.saturating_add(span),
    });
    let protocol = prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Icmp),
        Just(Protocol::Any)
    ];
    let action = prop_oneof![Just(Action::Allow), Just(Action::Deny)];
    let direction = prop_oneof![Just(Direction::Ingress), Just(Direction::Egress)];
    let cidr = prop_oneof![
        Just(net("0.0.0.0/0")),
        Just(net("10.0.0.0/8")),
        (0u8..4).prop_map(|v| net(&format!("10.{v}.0.0/16"))),
        (0u8..4, 0u8..2).prop_map(|(v, s)| net(&format!("10.{v}.{s}.0/24"))),
        (0u8..4, 0u8..2, 0u8..3).prop_map(|(v, s, h)| net(&format!("10.{v}.{s}.{}/32", 10 + h))),
    ];
    let remote = prop_oneof![3 => cidr.clone().prop_map(Remote::Cidr), 1 => (1i64..=6).prop_map(Remote::Group)];
    let group_rule = (
        direction.clone(),
        1i64..6,
        action.clone(),
        protocol.clone(),
        ports.clone(),
        remote,
    );
    let acl_rule = (
        direction,
        1i64..6,
        action.clone(),
        protocol.clone(),
        ports.clone(),
        cidr.clone(),
    );
    let firewall_rule = (
        0i64..2,
        1i64..6,
        action,
        protocol.clone(),
        ports.clone(),
        cidr.clone(),
        cidr,
    );
    (
        proptest::collection::vec(proptest::collection::vec(group_rule, 1..8), 6),
        proptest::collection::vec(
            proptest::option::of(proptest::collection::vec(acl_rule, 0..5)),
            8,
        ),
        proptest::collection::vec(proptest::collection::vec(1i64..=6, 0..3), 24),
        proptest::collection::vec((0i64..4, 0i64..4), 0..4),
        proptest::collection::vec((0i64..4, 0i64..4, protocol, ports), 0..5),
        proptest::collection::vec(firewall_rule, 0..8),
    )
        .prop_map(
            |(group_rules, acls, memberships, peerings, exchanges, firewall)| {
                let mut next = 1000;
                let mut id = || {
                    next += 1;
                    next
                };
                let vpcs = (0..4)
                    .map(|v| Vpc {
                        id: v,
                        tenant_id: v % 2,
                        zone_id: 1,
                        cidrs: vec![net(&format!("10.{v}.0.0/16"))],
                    })
                    .collect();
                let subnets = acls
                    .into_iter()
                    .enumerate()
                    .map(|(index, acl)| {
                        let (v, s) = (index as i64 / 2, index as i64 % 2);
                        Subnet {
                            id: index as i64,
                            vpc_id: v,
                            cidr: net(&format!("10.{v}.{s}.0/24")),
                            acl: acl.map(|rules| {
                                rules
                                    .into_iter()
                                    .map(|(direction, order, action, protocol, ports, remote)| {
                                        AclRule {
                                            id: id(),
                                            direction,
                                            order,
                                            action,
                                            protocol,
                                            ports,
                                            remote,
                                        }
                                    })
                                    .collect()
                            }),
                        }
                    })
                    .collect();
                let interfaces = memberships
                    .into_iter()
                    .enumerate()
                    .map(|(index, groups)| {
                        let subnet = index / 3;
                        let (v, s) = (subnet / 2, subnet % 2);
                        Interface {
                            vm_id: index as i64,
                            vpc_id: v as i64,
                            subnet_id: subnet as i64,
                            address: ip(v as u8, s as u8, 10 + (index % 3) as u8),
                            groups,
                            host_id: None,
                        }
                    })
                    .collect();
                let groups = group_rules
                    .into_iter()
                    .enumerate()
                    .map(|(index, rules)| {
                        let group_id = index as i64 + 1;
                        SecurityGroup {
                            id: group_id,
                            vpc_id: index as i64 % 4,
                            rules: rules
                                .into_iter()
                                .map(|(direction, priority, action, protocol, ports, remote)| {
                                    GroupRule {
                                        id: id(),
                                        group_id,
                                        direction,
                                        priority,
                                        action,
                                        protocol,
                                        ports,
                                        remote,
                                    }
                                })
                                .collect(),
                        }
                    })
                    .collect();
                Model {
                    vpcs,
                    subnets,
                    interfaces,
                    groups,
                    firewall: firewall
                        .into_iter()
                        .map(
                            |(tenant_id, order, action, protocol, ports, source, destination)| {
                                FirewallRule {
                                    id: id(),
                                    tenant_id,
                                    order,
                                    action,
                                    protocol,
                                    ports,
                                    source,
                                    destination,
                                    layer7: false,
                                }
                            },
                        )
                        .collect(),
                    peerings: peerings
                        .into_iter()
                        .filter(|(a, b)| a != b)
                        .map(|(vpc_a, vpc_b)| Peering {
                            id: id(),
                            vpc_a,
                            vpc_b,
                        })
                        .collect(),
                    exchanges: exchanges
                        .into_iter()
                        .map(|(from_vpc, to_vpc, protocol, ports)| ExchangeRule {
                            id: id(),
                            from_vpc,
                            to_vpc,
                            protocol,
                            ports,
                        })
                        .collect(),
                    ..Model::default()
                }
            },
        )
}

/// A small deterministic generator for the flows (proptest shrinks the world; the
/// flows are many and cheap).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_oracle_on_100000_random_flows(model in world(), seed in any::<u64>()) {
        let network = Network::compile(model.clone());
        let addresses: Vec<IpAddr> = model.interfaces.iter().map(|i| i.address).collect();
        let mut random = Lcg(seed);
        let protocols = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp];
        let ports = [22u16, 80, 443, 3306, 8080, 0, 65535];
        let mut allowed = 0usize;
        for _ in 0..100_000 {
            let flow = Flow {
                src: addresses[random.next() as usize % addresses.len()],
                dst: addresses[random.next() as usize % addresses.len()],
                protocol: protocols[random.next() as usize % 3],
                port: if random.next().is_multiple_of(2) { ports[random.next() as usize % ports.len()] } else { (random.next() % 2300) as u16 },
            };
            let engine = network.decide(&flow);
            let expected = oracle(&model, &flow);
            prop_assert_eq!(&engine, &expected, "flow {:?}", flow);
            if engine.is_some_and(|verdict| verdict.allowed) {
                allowed += 1;
            }
        }
        // Both outcomes occur, so the comparison is not trivially about refusals.
        prop_assert!(allowed < 100_000);
    }
}

fn group_rule(
    id: i64,
    group_id: i64,
    direction: Direction,
    priority: i64,
    action: Action,
    port: u16,
    remote: Remote,
) -> GroupRule {
    GroupRule {
        id,
        group_id,
        direction,
        priority,
        action,
        protocol: Protocol::Tcp,
        ports: Ports::one(port),
        remote,
    }
}

/// Two tenants' VPCs; tenant 1's web VM allows SSH from anywhere; a peering exists.
fn two_tenants() -> Model {
    let web = ip(0, 0, 10);
    let db = ip(1, 0, 10);
    Model {
        vpcs: vec![
            Vpc {
                id: 0,
                tenant_id: 1,
                zone_id: 1,
                cidrs: vec![net("10.0.0.0/16")],
            },
            Vpc {
                id: 1,
                tenant_id: 2,
                zone_id: 1,
                cidrs: vec![net("10.1.0.0/16")],
            },
        ],
        subnets: vec![
            Subnet {
                id: 0,
                vpc_id: 0,
                cidr: net("10.0.0.0/24"),
                acl: None,
            },
            Subnet {
                id: 1,
                vpc_id: 1,
                cidr: net("10.1.0.0/24"),
                acl: None,
            },
        ],
        interfaces: vec![
            Interface {
                vm_id: 1,
                vpc_id: 0,
                subnet_id: 0,
                address: web,
                groups: vec![1],
                host_id: None,
            },
            Interface {
                vm_id: 2,
                vpc_id: 1,
                subnet_id: 1,
                address: db,
                groups: vec![2],
                host_id: None,
            },
        ],
        groups: vec![
            SecurityGroup {
                id: 1,
                vpc_id: 0,
                rules: vec![group_rule(
                    11,
                    1,
                    Direction::Ingress,
                    1,
                    Action::Allow,
                    22,
                    Remote::Cidr(net("0.0.0.0/0")),
                )],
            },
            SecurityGroup {
                id: 2,
                vpc_id: 1,
                rules: vec![
                    group_rule(
                        21,
                        2,
                        Direction::Ingress,
                        1,
                        Action::Allow,
                        3306,
                        Remote::Cidr(net("10.0.0.0/16")),
                    ),
                    group_rule(
                        22,
                        2,
                        Direction::Ingress,
                        1,
                        Action::Deny,
                        3306,
                        Remote::Cidr(net("10.0.0.10/32")),
                    ),
                ],
            },
        ],
        firewall: Vec::new(),
        peerings: vec![Peering {
            id: 31,
            vpc_a: 0,
            vpc_b: 1,
        }],
        exchanges: Vec::new(),
        ..Model::default()
    }
}

#[test]
fn a_peering_routes_between_tenants_whatever_was_approved() {
    // No firewall and no exchange rule: the peering and the groups decide alone.
    let flow = Flow {
        src: ip(0, 0, 11),
        dst: ip(1, 0, 10),
        protocol: Protocol::Tcp,
        port: 3306,
    };
    let mut model = two_tenants();
    model.interfaces.push(Interface {
        vm_id: 3,
        vpc_id: 0,
        subnet_id: 0,
        address: ip(0, 0, 11),
        groups: vec![1],
        host_id: None,
    });
    let verdict = Network::compile(model)
        .decide(&flow)
        .expect("both are ours");
    assert!(verdict.allowed, "{verdict:?}");
    assert_eq!(verdict.hops[1].decided_by, Decider::Peering(31));
    assert_eq!(
        verdict.hops.last().map(|hop| hop.decided_by.clone()),
        Some(Decider::GroupRule(21))
    );
    // Without the peering nothing routes.
    let mut model = two_tenants();
    model.peerings.clear();
    let verdict = Network::compile(model)
        .decide(&Flow {
            src: ip(0, 0, 10),
            dst: ip(1, 0, 10),
            protocol: Protocol::Tcp,
            port: 3306,
        })
        .expect("ours");
    assert_eq!(
        verdict.hops.last().map(|hop| (hop.stage, hop.allowed)),
        Some((Stage::Peering, false))
    );
}

#[test]
fn with_exchange_and_firewalls_the_deny_at_equal_priority_decides() {
    let mut model = two_tenants();
    model.exchanges.push(ExchangeRule {
        id: 41,
        from_vpc: 0,
        to_vpc: 1,
        protocol: Protocol::Tcp,
        ports: Ports::one(3306),
    });
    for tenant in [1, 2] {
        model.firewall.push(FirewallRule {
            id: 50 + tenant,
            tenant_id: tenant,
            order: 1,
            action: Action::Allow,
            protocol: Protocol::Tcp,
            ports: Ports::one(3306),
            source: net("10.0.0.0/16"),
            destination: net("10.1.0.0/16"),
            layer7: false,
        });
    }
    let network = Network::compile(model);
    let flow = Flow {
        src: ip(0, 0, 10),
        dst: ip(1, 0, 10),
        protocol: Protocol::Tcp,
        port: 3306,
    };
    let verdict = network.decide(&flow).expect("ours");
    assert!(!verdict.allowed, "{verdict:?}");
    assert_eq!(
        verdict.hops.last().map(|hop| hop.decided_by.clone()),
        Some(Decider::GroupRule(22))
    );
    // Another address of the allowed range passes every hop.
    let mut model = two_tenants();
    model.interfaces.push(Interface {
        vm_id: 3,
        vpc_id: 0,
        subnet_id: 0,
        address: ip(0, 0, 11),
        groups: vec![1],
        host_id: None,
    });
    model.exchanges.push(ExchangeRule {
        id: 41,
        from_vpc: 0,
        to_vpc: 1,
        protocol: Protocol::Tcp,
        ports: Ports::one(3306),
    });
    for tenant in [1, 2] {
        model.firewall.push(FirewallRule {
            id: 50 + tenant,
            tenant_id: tenant,
            order: 1,
            action: Action::Allow,
            protocol: Protocol::Tcp,
            ports: Ports::one(3306),
            source: net("10.0.0.0/16"),
            destination: net("10.1.0.0/16"),
            layer7: false,
        });
    }
    let verdict = Network::compile(model)
        .decide(&Flow {
            src: ip(0, 0, 11),
            dst: ip(1, 0, 10),
            protocol: Protocol::Tcp,
            port: 3306,
        })
        .expect("ours");
    assert!(verdict.allowed, "{verdict:?}");
    // Source groups, peering, both firewalls, destination groups.
    assert_eq!(verdict.hops.len(), 5);
}

#[test]
fn addresses_outside_the_model_get_no_answer() {
    let network = Network::compile(two_tenants());
    assert!(network
        .decide(&Flow {
            src: IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            dst: ip(0, 0, 10),
            protocol: Protocol::Tcp,
            port: 22
        })
        .is_none());
}

/// A random world made permeable: every pair of VPCs peered, every group also allowing
/// a band of ports from the private range at its lowest priority, each tenant's
/// firewall (when it has one) allowing a band at its end, so cross-tenant flows pass
/// somewhere and the exchange rules decide what is a violation.
fn reachable(mut model: Model) -> Model {
    let mut next = 9_000;
    for a in 0..4 {
        for b in (a + 1)..4 {
            next += 1;
            model.peerings.push(Peering {
                id: next,
                vpc_a: a,
                vpc_b: b,
            });
        }
    }
    for group in &mut model.groups {
        next += 1;
        let from = (group.id as u16) * 150;
        group.rules.push(GroupRule {
            id: next,
            group_id: group.id,
            direction: Direction::Ingress,
            priority: 9,
            action: Action::Allow,
            protocol: Protocol::Any,
            ports: Ports {
                from,
                to: from + 400,
            },
            remote: Remote::Cidr(net("10.0.0.0/8")),
        });
    }
    for subnet in &mut model.subnets {
        subnet.acl = None;
    }
    for tenant in [0, 1] {
        if model.firewall.iter().any(|rule| rule.tenant_id == tenant) {
            next += 1;
            model.firewall.push(FirewallRule {
                id: next,
                tenant_id: tenant,
                order: 9,
                action: Action::Allow,
                protocol: Protocol::Any,
                ports: Ports { from: 0, to: 1500 },
                source: net("10.0.0.0/8"),
                destination: net("10.0.0.0/8"),
                layer7: false,
            });
        }
    }
    model
}

/// The cross-tenant check against brute force: every port of every protocol between
/// every pair of interfaces asked one by one, on random worlds.
fn brute_force_cross_tenant(
    model: &Model,
) -> std::collections::BTreeSet<(IpAddr, IpAddr, Protocol, u16)> {
    let network = Network::compile(model.clone());
    let tenant = |vpc: i64| model.vpcs.iter().find(|v| v.id == vpc).map(|v| v.tenant_id);
    let mut violating = std::collections::BTreeSet::new();
    for from in &model.interfaces {
        for to in &model.interfaces {
            if tenant(from.vpc_id) == tenant(to.vpc_id) {
                continue;
            }
            for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Icmp] {
                for port in 0..=2400u16 {
                    let flow = Flow {
                        src: from.address,
                        dst: to.address,
                        protocol,
                        port,
                    };
                    let Some(verdict) = network.decide(&flow) else {
                        continue;
                    };
                    if !verdict.allowed {
                        continue;
                    }
                    let approved = model.exchanges.iter().any(|r| {
                        r.from_vpc == from.vpc_id
                            && r.to_vpc == to.vpc_id
                            && r.protocol.covers(protocol)
                            && r.ports.contains(port)
                    });
                    let firewalls = verdict
                        .hops
                        .iter()
                        .filter(|h| matches!(h.decided_by, Decider::FirewallRule(_)))
                        .count();
                    if !approved || firewalls != 2 {
                        violating.insert((flow.src, flow.dst, protocol, port));
                    }
                }
            }
        }
    }
    violating
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn cross_tenant_findings_cover_exactly_the_violating_flows(model in world().prop_map(reachable)) {
        let findings = yunjian_network::checks::cross_tenant(&Network::compile(model.clone()));
        let mut covered = std::collections::BTreeSet::new();
        for finding in &findings {
            let yunjian_network::checks::Subject::Path { sources, destinations, .. } = &finding.subject else {
                continue;
            };
            for source in sources {
                for destination in destinations {
                    for (protocol, ports) in &finding.ports {
                        for port in ports.from..=ports.to.min(2400) {
                            covered.insert((source.address, destination.address, *protocol, port));
                        }
                    }
                }
            }
        }
        let expected = brute_force_cross_tenant(&model);
        // Only worlds with violations count: the comparison is never about nothing.
        prop_assume!(!expected.is_empty());
        prop_assert_eq!(covered, expected);
    }
}

#[test]
fn a_peering_without_exchange_rules_or_firewalls_is_found_with_its_deciding_rules() {
    let mut model = two_tenants();
    model.interfaces.push(Interface {
        vm_id: 3,
        vpc_id: 0,
        subnet_id: 0,
        address: ip(0, 0, 11),
        groups: vec![1],
        host_id: None,
    });
    let network = Network::compile(model.clone());
    let mut findings = yunjian_network::checks::cross_tenant(&network);
    for finding in &mut findings {
        yunjian_network::checks::explain(&network, finding);
    }
    let mysql: Vec<_> = findings
        .iter()
        .filter(|f| {
            f.example.is_some_and(|e| e.src == ip(0, 0, 11))
                && f.ports.iter().any(|(_, p)| p.contains(3306))
        })
        .collect();
    assert_eq!(mysql.len(), 1, "{findings:#?}");
    assert!(
        mysql[0].ports.contains(&(Protocol::Tcp, Ports::one(3306))),
        "{mysql:#?}"
    );
    assert_eq!(mysql[0].reason, "no exchange rule allows this flow");
    assert!(mysql[0]
        .verdict
        .as_ref()
        .expect("verdict")
        .hops
        .iter()
        .any(|hop| hop.decided_by == Decider::GroupRule(21)));
    // Approved and behind both firewalls: nothing left to find on that port.
    model.exchanges.push(ExchangeRule {
        id: 41,
        from_vpc: 0,
        to_vpc: 1,
        protocol: Protocol::Tcp,
        ports: Ports::one(3306),
    });
    for tenant in [1, 2] {
        model.firewall.push(FirewallRule {
            id: 50 + tenant,
            tenant_id: tenant,
            order: 1,
            action: Action::Allow,
            protocol: Protocol::Tcp,
            ports: Ports::one(3306),
            source: net("10.0.0.0/16"),
            destination: net("10.1.0.0/16"),
            layer7: false,
        });
    }
    let findings = yunjian_network::checks::cross_tenant(&Network::compile(model));
    assert!(
        findings
            .iter()
            .all(|f| !f.ports.iter().any(|(_, p)| p.contains(3306))),
        "{findings:#?}"
    );
}

#[test]
fn rules_opening_management_ports_to_the_internet_any_to_any_and_shadowed_rules_are_named() {
    use yunjian_network::checks::{group_rules, Finding, Invariant, Subject};
    let everywhere = || Remote::Cidr(net("0.0.0.0/0"));
    let rule = |id: i64,
                priority: i64,
                action: Action,
                protocol: Protocol,
                ports: Ports,
                remote: Remote| GroupRule {
        id,
        group_id: 1,
        direction: Direction::Ingress,
        priority,
        action,
        protocol,
        ports,
        remote,
    };
    let mut model = two_tenants();
    model.groups[0].rules = vec![
        rule(
            1,
            1,
            Action::Allow,
            Protocol::Tcp,
            Ports { from: 20, to: 25 },
            everywhere(),
        ),
        rule(2, 1, Action::Allow, Protocol::Any, Ports::ALL, everywhere()),
        // Covered by rule 2 (same priority, allow: asked after it by id): shadowed.
        rule(
            3,
            1,
            Action::Allow,
            Protocol::Tcp,
            Ports::one(443),
            Remote::Cidr(net("10.0.0.0/8")),
        ),
        // A deny at the same priority is asked first: not shadowed by the allows.
        rule(
            4,
            1,
            Action::Deny,
            Protocol::Tcp,
            Ports::one(8080),
            everywhere(),
        ),
        // A narrower remote at a later priority, covered by rule 2's 0.0.0.0/0.
        rule(
            5,
            3,
            Action::Deny,
            Protocol::Udp,
            Ports::one(53),
            Remote::Group(2),
        ),
        // SSH from the office only: fine.
        rule(
            6,
            2,
            Action::Allow,
            Protocol::Tcp,
            Ports::one(22),
            Remote::Cidr(net("10.200.0.0/16")),
        ),
    ];
    let findings = group_rules(&Network::compile(model));
    let rule_of = |f: &Finding| match &f.subject {
        Subject::Rule { rule_id, by, .. } => (*rule_id, by.clone()),
        other => panic!("not a rule finding: {other:?}"),
    };
    let of = |id: i64| -> Vec<Invariant> {
        findings
            .iter()
            .filter(|f| rule_of(f).0 == id)
            .map(|f| f.invariant)
            .collect()
    };
    // Rule 1 is also redundant: rule 2, of the same action, allows everything it does.
    assert_eq!(
        of(1),
        vec![Invariant::ManagementOpenToAll, Invariant::Redundant]
    );
    assert!(
        findings
            .iter()
            .any(|f| rule_of(f).0 == 1 && f.reason.contains("[22, 23]")),
        "{findings:#?}"
    );
    assert_eq!(of(2), vec![Invariant::AnyToAny]);
    assert_eq!(of(3), vec![Invariant::Shadowed]);
    assert_eq!(
        findings
            .iter()
            .find(|f| rule_of(f).0 == 3)
            .map(|f| rule_of(f).1),
        Some(vec![2])
    );
    assert!(of(4).is_empty(), "{findings:#?}");
    assert_eq!(of(5), vec![Invariant::Shadowed]);
    assert_eq!(
        of(6),
        vec![Invariant::Shadowed],
        "rule 2 at priority 1 covers it too"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// A rule reported shadowed never decides a flow: over random worlds and flows, the
    /// engine's deciding group rule is never one the check called shadowed.
    #[test]
    fn a_shadowed_rule_never_decides(model in world(), seed in any::<u64>()) {
        let network = Network::compile(model.clone());
        let shadowed: std::collections::BTreeSet<i64> = yunjian_network::checks::group_rules(&network)
            .into_iter()
            .filter(|f| f.invariant == yunjian_network::checks::Invariant::Shadowed)
            .filter_map(|f| match f.subject {
                yunjian_network::checks::Subject::Rule { rule_id, .. } => Some(rule_id),
                _ => None,
            })
            .collect();
        let addresses: Vec<IpAddr> = model.interfaces.iter().map(|i| i.address).collect();
        let mut random = Lcg(seed);
        for _ in 0..20_000 {
            let flow = Flow {
                src: addresses[random.next() as usize % addresses.len()],
                dst: addresses[random.next() as usize % addresses.len()],
                protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Icmp][random.next() as usize % 3],
                port: (random.next() % 2300) as u16,
            };
            if let Some(verdict) = network.decide(&flow) {
                for hop in verdict.hops {
                    if let Decider::GroupRule(id) = hop.decided_by {
                        prop_assert!(!shadowed.contains(&id), "shadowed rule {} decided {:?}", id, flow);
                    }
                }
            }
        }
    }
}

#[test]
fn a_layer7_firewall_rule_never_hides_a_path_and_is_reported_not_verifiable() {
    use yunjian_network::checks::{Invariant, Subject};
    use yunjian_network::verify::Verifier;
    let mut model = two_tenants();
    let rule = |id: i64, tenant_id: i64, order: i64, action: Action, layer7: bool| FirewallRule {
        id,
        tenant_id,
        order,
        action,
        protocol: Protocol::Tcp,
        ports: Ports::one(3306),
        source: net("10.0.0.0/16"),
        destination: net("10.1.0.0/16"),
        layer7,
    };
    // Tenant 1 denies "SQL injection" at layer 7, then allows MySQL; tenant 2 allows it.
    model.firewall = vec![
        rule(61, 1, 1, Action::Deny, true),
        rule(62, 1, 2, Action::Allow, false),
        rule(63, 2, 1, Action::Allow, false),
    ];
    let network = Network::compile(model);
    let verdict = network
        .decide(&Flow {
            src: ip(0, 0, 10),
            dst: ip(1, 0, 10),
            protocol: Protocol::Tcp,
            port: 3306,
        })
        .expect("verdict");
    // The layer-7 deny may let some of it through: it is not taken as stopping
    // anything, so the plain allow after it decides tenant 1's hop.
    assert!(
        verdict
            .hops
            .iter()
            .any(|hop| hop.decided_by == Decider::FirewallRule(62)),
        "{verdict:?}"
    );
    let verifier = Verifier::new(network);
    let notes: Vec<_> = verifier
        .findings()
        .into_iter()
        .filter(|f| f.invariant == Invariant::NotVerifiable)
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(matches!(
        notes[0].subject,
        Subject::FirewallRule {
            rule_id: 61,
            tenant_id: 1
        }
    ));
}
