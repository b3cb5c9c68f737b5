//! A generated large world for the benchmark: one VPC per tenant, VMs spread over two
//! subnets, security groups in the shapes the demo cloud has (web, app, database,
//! bastion) padded with realistic allow and deny rules to the requested count, subnet
//! ACLs, tenant firewalls, peerings (some within a tenant, some across tenants with
//! exchange rules and firewall allows), routes, management endpoints and hosts. A pure
//! function of its parameters and seed (a small xorshift generator, no randomness of
//! its own).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::model::*;

/// The world's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub vpcs: usize,
    pub vms: usize,
    pub group_rules: usize,
    /// ACL rules per subnet (each VPC has two subnets, one of them with an ACL).
    pub acl_rules: usize,
    /// Firewall rules per tenant that has a firewall (one tenant in four).
    pub firewall_rules: usize,
    /// VPC peerings (one in four across tenants).
    pub peerings: usize,
    pub seed: u64,
    /// Every VPC its own tenant, firewalls that allow broadly, peerings anywhere with
    /// few approvals: most peered pairs violate (the worst case for findings). Otherwise
    /// tenants own two VPCs, peerings mostly join a tenant's own, and cross-tenant ones
    /// are approved on 443 behind both firewalls, one in ten left unapproved.
    pub hostile: bool,
}

impl Shape {
    pub fn large() -> Shape {
        Shape {
            vpcs: 10_000,
            vms: 100_000,
            group_rules: 1_000_000,
            acl_rules: 10,
            firewall_rules: 20,
            peerings: 2_000,
            seed: 7,
            hostile: false,
        }
    }
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn net(address: [u8; 4], prefix: u8) -> IpNet {
    IpNet::V4(
        Ipv4Net::new(Ipv4Addr::from(address), prefix)
            .expect("prefix ≤ 32")
            .trunc(),
    )
}

/// Builds the world.
pub fn generate(shape: Shape) -> Model {
    let mut random = Xorshift(shape.seed.max(1));
    let mut model = Model {
        zones: vec![
            Zone {
                id: 1,
                internet: false,
            },
            Zone {
                id: 2,
                internet: true,
            },
        ],
        ..Model::default()
    };
    let mut next_id = 0i64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    let vms_per_vpc = (shape.vms / shape.vpcs.max(1)).max(1);
    let groups_per_vpc = 4usize;
    let rules_per_group = (shape.group_rules / (shape.vpcs.max(1) * groups_per_vpc)).max(1);
    let hosts_per_zone = (shape.vms / 40).max(2);
    for host in 0..hosts_per_zone * 2 {
        model.hosts.push(Host {
            id: host as i64 + 1,
            zone_id: if host < hosts_per_zone { 1 } else { 2 },
        });
    }
    let mut vpc_cidrs = Vec::with_capacity(shape.vpcs);
    for index in 0..shape.vpcs {
        // A /23 per VPC from a flat counter across 10/8 and then 172.16/12, so 10,000
        // VPCs fit without overlap.
        let slot = index as u32;
        let base: u32 = if slot < 32_768 {
            u32::from(Ipv4Addr::new(10, 0, 0, 0)) + slot * 512
        } else {
            u32::from(Ipv4Addr::new(172, 16, 0, 0)) + (slot - 32_768) * 512
        };
        let octets = Ipv4Addr::from(base).octets();
        let vpc_id = index as i64 + 1;
        let tenant_id = if shape.hostile {
            index as i64 + 1
        } else {
            index as i64 / 2 + 1
        };
        let internet = (tenant_id - 1) % 10 == 0;
        let cidr = net(octets, 23);
        vpc_cidrs.push(cidr);
        model.vpcs.push(Vpc {
            id: vpc_id,
            tenant_id,
            zone_id: if internet { 2 } else { 1 },
            cidrs: vec![cidr],
        });
        let subnet_web = id();
        let subnet_app = id();
        let web_net = net(octets, 24);
        let app_net = net(Ipv4Addr::from(base + 256).octets(), 24);
        let acl = (0..shape.acl_rules)
            .map(|order| {
                let port = [80u16, 443, 8080, 3306, 22][order % 5];
                AclRule {
                    id: id(),
                    direction: if order % 2 == 0 {
                        Direction::Ingress
                    } else {
                        Direction::Egress
                    },
                    order: order as i64,
                    action: if order + 1 == shape.acl_rules {
                        Action::Allow
                    } else if order % 4 == 3 {
                        Action::Deny
                    } else {
                        Action::Allow
                    },
                    protocol: Protocol::Tcp,
                    ports: if order + 1 == shape.acl_rules {
                        Ports::ALL
                    } else {
                        Ports::one(port)
                    },
                    remote: if order % 3 == 0 {
                        net([10, 0, 0, 0], 8)
                    } else {
                        net([0, 0, 0, 0], 0)
                    },
                }
            })
            .collect();
        model.subnets.push(Subnet {
            id: subnet_web,
            vpc_id,
            cidr: web_net,
            acl: None,
        });
        model.subnets.push(Subnet {
            id: subnet_app,
            vpc_id,
            cidr: app_net,
            acl: Some(acl),
        });
        let group_ids: Vec<i64> = (0..groups_per_vpc).map(|_| id()).collect();
        for (slot, group_id) in group_ids.iter().enumerate() {
            let mut rules = Vec::with_capacity(rules_per_group);
            for number in 0..rules_per_group {
                let roll = random.below(100);
                let port = match roll % 7 {
                    0 => 22,
                    1 => 443,
                    2 => 80,
                    3 => 3306,
                    4 => 8080,
                    _ => 1024 + random.below(60_000) as u16,
                };
                let span = if roll < 10 {
                    random.below(100) as u16
                } else {
                    0
                };
                // Mostly the VPC itself, its groups and outside networks (offices,
                // partners); a few rules open to the whole private range — those are
                // what peerings turn into cross-tenant paths.
                let remote = match roll % 20 {
                    0..=4 => Remote::Group(group_ids[(slot + 1) % groups_per_vpc]),
                    5 => Remote::Cidr(net([10, 0, 0, 0], 8)),
                    6..=8 => Remote::Cidr(web_net),
                    9..=13 => Remote::Cidr(net(
                        [
                            [100u8, 192, 203][roll as usize % 3],
                            random.below(256) as u8,
                            random.below(256) as u8,
                            0,
                        ],
                        24,
                    )),
                    _ => Remote::Cidr(cidr),
                };
                rules.push(GroupRule {
                    id: id(),
                    group_id: *group_id,
                    direction: if number % 5 == 4 {
                        Direction::Egress
                    } else {
                        Direction::Ingress
                    },
                    priority: 1 + (number as i64 % 100),
                    action: if roll < 15 {
                        Action::Deny
                    } else {
                        Action::Allow
                    },
                    protocol: if roll.is_multiple_of(11) {
                        Protocol::Udp
                    } else {
                        Protocol::Tcp
                    },
                    ports: Ports {
                        from: port,
                        to: port.saturating_add(span),
                    },
                    remote,
                });
            }
            model.groups.push(SecurityGroup {
                id: *group_id,
                vpc_id,
                rules,
            });
        }
        for vm in 0..vms_per_vpc {
            let in_web = vm % 2 == 0;
            let host_base = if internet { hosts_per_zone } else { 0 };
            let host = host_base as i64 + 1 + random.below(hosts_per_zone as u64) as i64;
            let address_base = if in_web { base } else { base + 256 };
            let address = Ipv4Addr::from(address_base + 10 + (vm as u32 / 2));
            let groups = vec![
                group_ids[vm % groups_per_vpc],
                group_ids[(vm + 1) % groups_per_vpc],
            ];
            model.interfaces.push(Interface {
                vm_id: (index * vms_per_vpc + vm) as i64 + 1,
                vpc_id,
                subnet_id: if in_web { subnet_web } else { subnet_app },
                address: IpAddr::V4(address),
                groups,
                host_id: Some(host),
            });
        }
        if index % 50 == 0 {
            model.endpoints.push(ManagementEndpoint {
                id: id(),
                tenant_id,
                address: IpAddr::V4(Ipv4Addr::from(base + 10)),
            });
        }
        if !shape.hostile && index % 2 == 0 && tenant_id % 2 == 1 {
            // The tenant's firewall: 443 between its VPCs and the private range both
            // ways, then what its VPCs may reach outside (partners, carrier networks).
            let private = net([10, 0, 0, 0], 8);
            let own = net(octets, 22);
            for order in 0..shape.firewall_rules {
                let (source, destination, ports) = match order {
                    0 => (own, private, Ports::one(443)),
                    1 => (private, own, Ports::one(443)),
                    _ => (
                        own,
                        net([100, 64 + (order % 64) as u8, 0, 0], 16),
                        Ports::one([443u16, 80, 8443, 25][order % 4]),
                    ),
                };
                model.firewall.push(FirewallRule {
                    id: id(),
                    tenant_id,
                    order: order as i64,
                    action: Action::Allow,
                    protocol: Protocol::Tcp,
                    ports,
                    source,
                    destination,
                    layer7: false,
                });
            }
        }
        if shape.hostile && index % 4 == 0 {
            for order in 0..shape.firewall_rules {
                let port = [443u16, 80, 22, 3306, 8080][order % 5];
                model.firewall.push(FirewallRule {
                    id: id(),
                    tenant_id,
                    order: order as i64,
                    action: if order % 6 == 5 {
                        Action::Deny
                    } else {
                        Action::Allow
                    },
                    protocol: Protocol::Tcp,
                    ports: Ports::one(port),
                    source: if order % 2 == 0 {
                        cidr
                    } else {
                        net([10, 0, 0, 0], 8)
                    },
                    destination: if order % 2 == 0 {
                        net([10, 0, 0, 0], 8)
                    } else {
                        cidr
                    },
                    layer7: false,
                });
            }
        }
        if index % 100 == 0 {
            model.routes.push(Route {
                id: id(),
                vpc_id,
                destination: net([0, 0, 0, 0], 0),
                next_hop: NextHop::NatGateway,
            });
        }
    }
    // Peerings. Hostile: neighbouring VPCs anywhere, one in four approved on 443.
    // Otherwise three in four join a tenant's two VPCs; the fourth joins two tenants
    // that both have firewalls, approved on 443 both ways (one in ten of those not).
    let mut cross = 0usize;
    for number in 0..shape.peerings.min(shape.vpcs.saturating_sub(1)) {
        let (a, b) = if shape.hostile {
            let a = random.below(shape.vpcs as u64 - 1) as i64 + 1;
            (a, a + 1)
        } else if number % 4 != 0 {
            // VPCs 2k+1 and 2k+2 belong to tenant k+1.
            let pair = random.below(shape.vpcs as u64 / 2) as i64;
            (2 * pair + 1, 2 * pair + 2)
        } else {
            // The first VPCs of two tenants with firewalls (odd tenants), same zone.
            let tenants = shape.vpcs as u64 / 2;
            let tenant = (random.below(tenants / 2) * 2) as i64 + 1;
            let other = tenant + 2 + 20 * (random.below(3) as i64);
            if (other as u64) > tenants || (tenant - 1) % 10 == 0 || (other - 1) % 10 == 0 {
                continue;
            }
            cross += 1;
            if !cross.is_multiple_of(10) {
                for (from, to) in [
                    (2 * tenant - 1, 2 * other - 1),
                    (2 * other - 1, 2 * tenant - 1),
                ] {
                    model.exchanges.push(ExchangeRule {
                        id: id(),
                        from_vpc: from,
                        to_vpc: to,
                        protocol: Protocol::Tcp,
                        ports: Ports::one(443),
                    });
                }
            }
            (2 * tenant - 1, 2 * other - 1)
        };
        if !shape.hostile {
            model.peerings.push(Peering {
                id: id(),
                vpc_a: a,
                vpc_b: b,
            });
            continue;
        }
        model.peerings.push(Peering {
            id: id(),
            vpc_a: a,
            vpc_b: b,
        });
        if number % 4 == 0 {
            model.exchanges.push(ExchangeRule {
                id: id(),
                from_vpc: a,
                to_vpc: b,
                protocol: Protocol::Tcp,
                ports: Ports::one(443),
            });
        }
    }
    model
}
