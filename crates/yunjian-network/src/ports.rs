//! Sets of (protocol, port) as sorted disjoint port intervals per protocol: what a hop,
//! a path or an approval lets through between two fixed addresses. Every rule of the
//! model matches one port interval, so a first-match rule list between two addresses
//! is evaluated symbolically by claiming intervals in order — all 3 × 65,536 flows of a
//! pair at the cost of one pass over its rules.

use serde::Serialize;

use crate::model::{Action, Ports, Protocol};

/// The protocols a flow can have, in the order of a `PortSet`'s slots.
pub const PROTOCOLS: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp];

fn slot(protocol: Protocol) -> Option<usize> {
    PROTOCOLS
        .iter()
        .position(|candidate| *candidate == protocol)
}

/// Sorted, disjoint, non-adjacent inclusive intervals per protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PortSet {
    slots: [Vec<Ports>; 3],
}

/// Inserts and coalesces (intervals arrive in any order).
fn normalize(mut intervals: Vec<Ports>) -> Vec<Ports> {
    intervals.sort();
    let mut out: Vec<Ports> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match out.last_mut() {
            Some(last) if u32::from(interval.from) <= u32::from(last.to) + 1 => {
                last.to = last.to.max(interval.to);
            }
            _ => out.push(interval),
        }
    }
    out
}

fn intersect(a: &[Ports], b: &[Ports]) -> Vec<Ports> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let from = a[i].from.max(b[j].from);
        let to = a[i].to.min(b[j].to);
        if from <= to {
            out.push(Ports { from, to });
        }
        if a[i].to < b[j].to {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn subtract(a: &[Ports], b: &[Ports]) -> Vec<Ports> {
    let mut out = Vec::new();
    let mut j = 0;
    for interval in a {
        let mut from = u32::from(interval.from);
        let to = u32::from(interval.to);
        while j < b.len() && b[j].to < interval.from {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && u32::from(b[k].from) <= to && from <= to {
            if u32::from(b[k].from) > from {
                out.push(Ports {
                    from: from as u16,
                    to: (u32::from(b[k].from) - 1) as u16,
                });
            }
            from = from.max(u32::from(b[k].to) + 1);
            k += 1;
        }
        if from <= to {
            out.push(Ports {
                from: from as u16,
                to: to as u16,
            });
        }
    }
    out
}

impl PortSet {
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// What one rule's protocol and ports match.
    pub fn of(protocol: Protocol, ports: Ports) -> PortSet {
        let mut set = PortSet::empty();
        set.insert(protocol, ports);
        set
    }

    pub fn insert(&mut self, protocol: Protocol, ports: Ports) {
        for (index, candidate) in PROTOCOLS.iter().enumerate() {
            if protocol.covers(*candidate) {
                let mut intervals = std::mem::take(&mut self.slots[index]);
                intervals.push(ports);
                self.slots[index] = normalize(intervals);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Vec::is_empty)
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        slot(protocol).is_some_and(|index| {
            self.slots[index]
                .iter()
                .any(|interval| interval.contains(port))
        })
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        PortSet {
            slots: std::array::from_fn(|index| intersect(&self.slots[index], &other.slots[index])),
        }
    }

    pub fn subtract(&self, other: &PortSet) -> PortSet {
        PortSet {
            slots: std::array::from_fn(|index| subtract(&self.slots[index], &other.slots[index])),
        }
    }

    /// The maximal intervals, per protocol.
    pub fn intervals(&self) -> impl Iterator<Item = (Protocol, Ports)> + '_ {
        PROTOCOLS
            .iter()
            .zip(&self.slots)
            .flat_map(|(protocol, intervals)| {
                intervals.iter().map(move |ports| (*protocol, *ports))
            })
    }
}

/// What a first-match list of rules (already filtered to those whose addresses match)
/// allows: each rule claims the ports no earlier rule claimed; what no rule claims gets
/// the default.
pub fn first_match<I>(rules: I, default: Action) -> PortSet
where
    I: IntoIterator<Item = (Protocol, Ports, Action)>,
{
    let mut allowed: [Vec<Ports>; 3] = Default::default();
    let mut open: [Vec<Ports>; 3] = [vec![Ports::ALL], vec![Ports::ALL], vec![Ports::ALL]];
    let mut remaining = 3;
    for (protocol, ports, action) in rules {
        for (index, candidate) in PROTOCOLS.iter().enumerate() {
            if !protocol.covers(*candidate) || open[index].is_empty() {
                continue;
            }
            let claimed = intersect(&open[index], &[ports]);
            if claimed.is_empty() {
                continue;
            }
            if action == Action::Allow {
                allowed[index].extend(claimed);
            }
            open[index] = subtract(&open[index], &[ports]);
            if open[index].is_empty() {
                remaining -= 1;
            }
        }
        if remaining == 0 {
            break;
        }
    }
    if default == Action::Allow {
        for (index, rest) in open.into_iter().enumerate() {
            allowed[index].extend(rest);
        }
    }
    PortSet {
        slots: allowed.map(normalize),
    }
}
