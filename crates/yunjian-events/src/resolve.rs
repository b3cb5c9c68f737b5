//! Which tenant, VPC, VM and information system an address belongs to, from the
//! inventory (7.2.4.8, 8.3.9). Private address space is reused across tenants' VPCs, so
//! an address is resolved within what the event's context narrows it to (the sender's
//! zone or VPC); two VPCs still claiming it is an honest "ambiguous", never a guess.
//! Public addresses are left to the country lookup; private and reserved ones never
//! reach it.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// A VPC as the index needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    pub vpc_id: i64,
    pub tenant_id: i64,
    pub zone_id: i64,
    pub cidrs: Vec<IpNet>,
}

/// A VM's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub vm_id: i64,
    pub vpc_id: i64,
    pub system_id: Option<i64>,
    pub addresses: Vec<IpAddr>,
}

/// What narrows the search: the zone or the VPC the event came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Within {
    pub zone_id: Option<i64>,
    pub vpc_id: Option<i64>,
    /// A device dedicated to one tenant sees only that tenant's VPCs.
    pub tenant_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub tenant_id: i64,
    pub vpc_id: i64,
    pub zone_id: i64,
    pub vm_id: Option<i64>,
    pub system_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Found(Owner),
    /// Several VPCs (of these ids) claim the address within the context.
    Ambiguous(Vec<i64>),
    /// A public address: for the country lookup.
    Public,
    /// Private or reserved, and no VPC of ours holds it.
    Unknown,
}

/// The index, built once per inventory change.
#[derive(Clone, Debug, Default)]
pub struct AddressIndex {
    networks: Vec<Network>,
    machines: HashMap<(i64, IpAddr), (i64, Option<i64>)>,
}

/// Whether an address is routable on the internet (not private, shared, loopback,
/// link-local, documentation, benchmarking, multicast or otherwise reserved).
pub fn is_public(address: IpAddr) -> bool {
    !RESERVED.iter().any(|net| net.contains(&address))
}

/// IANA's special-purpose ranges (RFC 6890 and its updates), parsed once.
static RESERVED: std::sync::LazyLock<Vec<IpNet>> = std::sync::LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|net| net.parse().ok())
    .collect()
});

impl AddressIndex {
    pub fn build(networks: Vec<Network>, machines: &[Machine]) -> AddressIndex {
        let mut index = HashMap::new();
        for machine in machines {
            for address in &machine.addresses {
                index.insert(
                    (machine.vpc_id, *address),
                    (machine.vm_id, machine.system_id),
                );
            }
        }
        AddressIndex {
            networks,
            machines: index,
        }
    }

    pub fn resolve(&self, address: IpAddr, within: Within) -> Resolution {
        let candidates: Vec<&Network> = self
            .networks
            .iter()
            .filter(|network| within.vpc_id.is_none_or(|vpc| vpc == network.vpc_id))
            .filter(|network| within.zone_id.is_none_or(|zone| zone == network.zone_id))
            .filter(|network| {
                within
                    .tenant_id
                    .is_none_or(|tenant| tenant == network.tenant_id)
            })
            .filter(|network| network.cidrs.iter().any(|cidr| cidr.contains(&address)))
            .collect();
        match candidates.as_slice() {
            [network] => {
                let machine = self.machines.get(&(network.vpc_id, address));
                Resolution::Found(Owner {
                    tenant_id: network.tenant_id,
                    vpc_id: network.vpc_id,
                    zone_id: network.zone_id,
                    vm_id: machine.map(|(vm, _)| *vm),
                    system_id: machine.and_then(|(_, system)| *system),
                })
            }
            [] if is_public(address) => Resolution::Public,
            [] => Resolution::Unknown,
            several => {
                let mut ids: Vec<i64> = several.iter().map(|network| network.vpc_id).collect();
                ids.sort_unstable();
                Resolution::Ambiguous(ids)
            }
        }
    }
}
