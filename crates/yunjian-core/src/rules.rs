//! Rules about one object that its field types cannot express: the refusal of classified
//! systems, CIDR overlaps, port ranges. Rules that need other rows (references, sibling
//! subnets) live in the app, which sees the store; these are pure.

use ipnet::IpNet;

use crate::schema::Kind;
use crate::value::{FieldError, Value, Values};

/// Checks one complete object (after a create, or after merging an update).
pub fn check_object(kind: Kind, values: &Values) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match kind {
        Kind::InformationSystem if text(values, "classification") == Some("classified") => {
            errors.push(FieldError::new(
                "classification",
                "classified_system_refused",
                "涉密信息系统不得部署在政务云平台（指南 5.1.1、7.5.1.1）; \
                 classified systems may not be hosted on the e-government cloud",
            ));
        }
        Kind::Vpc => {
            let nets = cidrs(values, "cidrs");
            if let Some((a, b)) = first_overlap(&nets) {
                errors.push(FieldError::new(
                    "cidrs",
                    "overlapping_cidrs",
                    format!("'cidrs': {a} and {b} overlap inside one VPC"),
                ));
            }
        }
        Kind::Gateway if values.get("from_zone_id") == values.get("to_zone_id") => {
            errors.push(FieldError::new(
                "to_zone_id",
                "same_zone",
                "a gateway connects two different zones",
            ));
        }
        Kind::SecurityGroupRule => check_rule(values, &mut errors),
        // Absent ports mean every port for these (a platform's "all"); present ones
        // are a range in order, and only TCP and UDP have them.
        Kind::NetworkAclRule | Kind::FirewallRule | Kind::ExchangeRule => {
            check_ports(values, false, &mut errors)
        }
        Kind::Route => {
            let peering = values
                .get("peering_id")
                .is_some_and(|value| !value.is_null());
            match (text(values, "next_hop"), peering) {
                (Some("peering"), false) => errors.push(FieldError::new(
                    "peering_id",
                    "peering_required",
                    "a route to a peering names the peering",
                )),
                (Some(hop), true) if hop != "peering" => errors.push(FieldError::new(
                    "peering_id",
                    "peering_not_applicable",
                    "only routes whose next hop is a peering name one",
                )),
                _ => {}
            }
        }
        _ => {}
    }
    errors
}

fn check_rule(values: &Values, errors: &mut Vec<FieldError>) {
    check_ports(values, true, errors);
    let has_cidr = values
        .get("remote_cidr")
        .is_some_and(|value| !value.is_null());
    let has_group = values
        .get("remote_group_id")
        .is_some_and(|value| !value.is_null());
    if has_cidr == has_group {
        errors.push(FieldError::new(
            "remote_cidr",
            "remote_required",
            "a rule names exactly one of 'remote_cidr' and 'remote_group_id'",
        ));
    }
}

/// A rule's port range: in order, and only for TCP and UDP (`required`: both ends given).
fn check_ports(values: &Values, required: bool, errors: &mut Vec<FieldError>) {
    let protocol = text(values, "protocol");
    let from = values.get("port_from").and_then(Value::as_int);
    let to = values.get("port_to").and_then(Value::as_int);
    match protocol {
        Some("tcp") | Some("udp") => match (from, to) {
            (Some(from), Some(to)) if from > to => errors.push(FieldError::new(
                "port_to",
                "invalid_port_range",
                format!("'port_to' ({to}) is below 'port_from' ({from})"),
            )),
            (Some(_), Some(_)) => {}
            (None, None) if !required => {}
            _ => errors.push(FieldError::new(
                "port_from",
                "ports_required",
                if required {
                    "TCP and UDP rules need 'port_from' and 'port_to'"
                } else {
                    "give both 'port_from' and 'port_to', or neither for every port"
                },
            )),
        },
        _ => {
            if from.is_some() || to.is_some() {
                errors.push(FieldError::new(
                    "port_from",
                    "ports_not_applicable",
                    "only TCP and UDP rules have ports",
                ));
            }
        }
    }
}

fn text<'a>(values: &'a Values, name: &str) -> Option<&'a str> {
    values.get(name).and_then(Value::as_text)
}

/// Parses a stored CIDR list (already validated on the way in).
pub fn cidrs(values: &Values, name: &str) -> Vec<IpNet> {
    match values.get(name) {
        Some(Value::TextList(items)) => items.iter().filter_map(|item| item.parse().ok()).collect(),
        Some(Value::Text(item)) => item.parse().into_iter().collect(),
        _ => Vec::new(),
    }
}

pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first pair of overlapping blocks, if any (O(n log n) after sorting).
pub fn first_overlap(nets: &[IpNet]) -> Option<(IpNet, IpNet)> {
    let mut sorted = nets.to_vec();
    sorted.sort();
    // Sorted by (network address, prefix): a block can only overlap the blocks that
    // follow it while they start inside it, so comparing neighbours is enough.
    sorted
        .windows(2)
        .find(|pair| overlaps(&pair[0], &pair[1]))
        .map(|pair| (pair[0], pair[1]))
}

#[cfg(test)]
mod tests;
