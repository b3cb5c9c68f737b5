//! The decision of one flow, hop by hop, with the rule that decided each hop: what the
//! network actually lets through, whatever was approved.
//!
//! A flow from interface S to interface D passes, in order: S's security groups
//! (egress), S's subnet ACL (outbound), then — when S and D are in different VPCs — a
//! peering between the two VPCs (the route) and each tenant's north-south firewall when
//! that tenant has one; then D's subnet ACL (inbound) and D's security groups (ingress).
//! Exchange rules are approvals, not devices: they do not stop traffic; the invariant
//! checks compare what passes with what was approved. Security groups: every group of
//! the interface counts, rules of the direction sorted by priority (deny first at equal
//! priority), the first matching rule decides; none: ingress denied, egress allowed (the
//! clouds' defaults). ACLs and firewalls: first match in order; none: denied. Stateful
//! groups never judge replies, so only the initiating direction is asked.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{
    AclRule, Action, Direction, FirewallRule, Flow, GroupRule, Interface, Model, Remote,
};

/// What decided a hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Decider {
    GroupRule(i64),
    AclRule(i64),
    FirewallRule(i64),
    Peering(i64),
    /// Nothing matched; the hop's default applied.
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub stage: Stage,
    pub allowed: bool,
    pub decided_by: Decider,
}

/// The answer to "can this flow pass", with every hop asked (up to the first refusal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub hops: Vec<Hop>,
}

/// The model indexed for questions.
#[derive(Clone, Debug)]
pub struct Network {
    model: Model,
    by_address: HashMap<IpAddr, usize>,
    /// Per interface and direction: the rules of all its groups in decision order.
    ordered: Vec<[Vec<GroupRule>; 2]>,
    /// Group id → its members' addresses.
    members: HashMap<i64, Vec<IpAddr>>,
    subnets: HashMap<i64, usize>,
    vpcs: HashMap<i64, usize>,
    firewall: BTreeMap<i64, Vec<FirewallRule>>,
}

fn slot(direction: Direction) -> usize {
    match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

/// Deny before allow at equal priority; then the rule id for a stable order.
fn decision_order(rule: &GroupRule) -> (i64, u8, i64) {
    let deny_first = match rule.action {
        Action::Deny => 0,
        Action::Allow => 1,
    };
    (rule.priority, deny_first, rule.id)
}

impl Network {
    pub fn compile(model: Model) -> Network {
        let by_address = model
            .interfaces
            .iter()
            .enumerate()
            .map(|(index, interface)| (interface.address, index))
            .collect();
        let groups: HashMap<i64, &crate::model::SecurityGroup> =
            model.groups.iter().map(|group| (group.id, group)).collect();
        let ordered = model
            .interfaces
            .iter()
            .map(|interface| {
                let mut by_direction = [Vec::new(), Vec::new()];
                for group in interface.groups.iter().filter_map(|id| groups.get(id)) {
                    for rule in &group.rules {
                        by_direction[slot(rule.direction)].push(rule.clone());
                    }
                }
                for rules in &mut by_direction {
                    rules.sort_by_key(decision_order);
                }
                by_direction
            })
            .collect();
        let mut members: HashMap<i64, Vec<IpAddr>> = HashMap::new();
        for interface in &model.interfaces {
            for group in &interface.groups {
                members.entry(*group).or_default().push(interface.address);
            }
        }
        let subnets = model
            .subnets
            .iter()
            .enumerate()
            .map(|(index, subnet)| (subnet.id, index))
            .collect();
        let vpcs = model
            .vpcs
            .iter()
            .enumerate()
            .map(|(index, vpc)| (vpc.id, index))
            .collect();
        let mut firewall: BTreeMap<i64, Vec<FirewallRule>> = BTreeMap::new();
        for rule in &model.firewall {
            firewall
                .entry(rule.tenant_id)
                .or_default()
                .push(rule.clone());
        }
        for rules in firewall.values_mut() {
            rules.sort_by_key(|rule| (rule.order, rule.id));
        }
        Network {
            model,
            by_address,
            ordered,
            members,
            subnets,
            vpcs,
            firewall,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn interface(&self, address: IpAddr) -> Option<&Interface> {
        self.by_address
            .get(&address)
            .map(|index| &self.model.interfaces[*index])
    }

    fn remote_matches(&self, remote: &Remote, address: IpAddr) -> bool {
        match remote {
            Remote::Cidr(net) => net.contains(&address),
            Remote::Group(group) => self
                .members
                .get(group)
                .is_some_and(|members| members.contains(&address)),
        }
    }

    fn groups_hop(&self, index: usize, direction: Direction, flow: &Flow) -> Hop {
        let other = match direction {
            Direction::Ingress => flow.src,
            Direction::Egress => flow.dst,
        };
        let decided = self.ordered[index][slot(direction)].iter().find(|rule| {
            rule.protocol.covers(flow.protocol)
                && rule.ports.contains(flow.port)
                && self.remote_matches(&rule.remote, other)
        });
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

    fn acl_hop(&self, subnet_id: i64, direction: Direction, flow: &Flow) -> Option<Hop> {
        let subnet = &self.model.subnets[*self.subnets.get(&subnet_id)?];
        let rules = subnet.acl.as_ref()?;
        let other = match direction {
            Direction::Ingress => flow.src,
            Direction::Egress => flow.dst,
        };
        let stage = match direction {
            Direction::Ingress => Stage::DestinationAcl,
            Direction::Egress => Stage::SourceAcl,
        };
        let mut candidates: Vec<&AclRule> = rules
            .iter()
            .filter(|rule| rule.direction == direction)
            .collect();
        candidates.sort_by_key(|rule| (rule.order, rule.id));
        let decided = candidates.into_iter().find(|rule| {
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
                rule.protocol.covers(flow.protocol)
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

    /// Decides a flow between two interfaces of the model. `None` when either address
    /// is no interface of ours (the engine answers only for what it models).
    pub fn decide(&self, flow: &Flow) -> Option<Verdict> {
        let source = *self.by_address.get(&flow.src)?;
        let destination = *self.by_address.get(&flow.dst)?;
        let (from, to) = (
            &self.model.interfaces[source],
            &self.model.interfaces[destination],
        );
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
        if !push(self.groups_hop(source, Direction::Egress, flow), &mut hops) {
            return done(hops);
        }
        if let Some(hop) = self.acl_hop(from.subnet_id, Direction::Egress, flow) {
            if !push(hop, &mut hops) {
                return done(hops);
            }
        }
        if from.vpc_id != to.vpc_id {
            let peering = self.model.peerings.iter().find(|peering| {
                (peering.vpc_a == from.vpc_id && peering.vpc_b == to.vpc_id)
                    || (peering.vpc_b == from.vpc_id && peering.vpc_a == to.vpc_id)
            });
            let hop = Hop {
                stage: Stage::Peering,
                allowed: peering.is_some(),
                decided_by: peering
                    .map_or(Decider::Default, |peering| Decider::Peering(peering.id)),
            };
            if !push(hop, &mut hops) {
                return done(hops);
            }
            let tenant_of = |vpc: i64| {
                self.vpcs
                    .get(&vpc)
                    .map(|index| self.model.vpcs[*index].tenant_id)
            };
            // A tenant's firewall stands on its north-south path only when it has one.
            for (tenant, stage) in [
                (tenant_of(from.vpc_id), Stage::SourceFirewall),
                (tenant_of(to.vpc_id), Stage::DestinationFirewall),
            ] {
                let Some(tenant) = tenant.filter(|tenant| self.firewall.contains_key(tenant))
                else {
                    continue;
                };
                if !push(self.firewall_hop(tenant, stage, flow), &mut hops) {
                    return done(hops);
                }
            }
        }
        if let Some(hop) = self.acl_hop(to.subnet_id, Direction::Ingress, flow) {
            if !push(hop, &mut hops) {
                return done(hops);
            }
        }
        push(
            self.groups_hop(destination, Direction::Ingress, flow),
            &mut hops,
        );
        done(hops)
    }
}
