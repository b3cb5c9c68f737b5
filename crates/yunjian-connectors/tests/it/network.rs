//! OpenStack's network objects in the standard API's terms: a VM's security groups from
//! its ports, routers as peerings and routes, FWaaS v2 rules as the tenant's firewall.
//! The cloud is built from the api-ref samples (`../shared/fixtures/openstack`), each
//! object a sample with its ids and addresses changed so that they form one cloud.

use std::collections::HashMap;

use serde_json::{json, Value};
use yunjian_connectors::openstack;
use yunjian_connectors::sync::{self, Current, Mode, PushedObject};
use yunjian_connectors::translate::{self, Placement};
use yunjian_connectors::Observed;
use yunjian_core::schema::Kind;
use yunjian_core::value::Value as Field;

use super::fixture;

const NEUTRON: &str = "neutron/api-ref/source/v2/samples";

/// The first element of a sample list, with `changes` written over it.
fn sample(path: &str, key: &str, changes: Value) -> Value {
    let body: Value = serde_json::from_slice(&fixture(path)).expect("sample");
    let mut item = body[key][0].clone();
    for (field, value) in changes.as_object().expect("changes") {
        item[field] = value.clone();
    }
    item
}

fn body(key: &str, items: Vec<Value>) -> Vec<u8> {
    json!({ key: items }).to_string().into_bytes()
}

fn network(id: &str, project: &str, subnet: &str) -> Value {
    sample(
        &format!("{NEUTRON}/networks/networks-list-response.json"),
        "networks",
        json!({"id": id, "name": id, "project_id": project, "tenant_id": project,
               "router:external": false, "subnets": [subnet]}),
    )
}

fn subnet(id: &str, network: &str, project: &str, cidr: &str) -> Value {
    sample(
        &format!("{NEUTRON}/subnets/subnets-list-response.json"),
        "subnets",
        json!({"id": id, "name": id, "network_id": network, "project_id": project,
               "tenant_id": project, "cidr": cidr}),
    )
}

fn port(
    id: &str,
    owner: &str,
    device: &str,
    network: &str,
    address: Value,
    groups: &[&str],
) -> Value {
    sample(
        &format!("{NEUTRON}/ports/ports-list-response.json"),
        "ports",
        json!({"id": id, "device_owner": owner, "device_id": device, "network_id": network,
               "fixed_ips": address, "security_groups": groups, "port_security_enabled": true,
               "project_id": "pa", "tenant_id": "pa", "binding:host_id": ""}),
    )
}

fn server(id: &str, project: &str, address: &str) -> Value {
    sample(
        "nova/doc/api_samples/servers/v2.100/servers-details-resp.json",
        "servers",
        json!({"id": id, "name": id, "tenant_id": project, "status": "ACTIVE",
               "addresses": {"net": [{"addr": address, "version": 4, "OS-EXT-IPS:type": "fixed"}]}}),
    )
}

/// Project `pa` has networks a1 and a2, project `pb` network b1. Router rt-1 (`pa`)
/// joins a1 and b1, has an external gateway with source NAT and an extra route. VM
/// vm-a (a1) is in group sg-web; vm-open (a2) has port security off. FWaaS: `pa`'s
/// firewall group applies a policy of an HTTP allow, a disabled rule and a deny that
/// matches source ports.
fn cloud(extensions: &[&'static str]) -> Observed {
    let mut observed = Observed::default();
    let fixed = |subnet: &str, address: &str| json!([{"subnet_id": subnet, "ip_address": address}]);
    for found in [
        openstack::parse_networks(&body(
            "networks",
            vec![
                network("a1", "pa", "sa1"),
                network("a2", "pa", "sa2"),
                network("b1", "pb", "sb1"),
            ],
        )),
        openstack::parse_subnets(&body(
            "subnets",
            vec![
                subnet("sa1", "a1", "pa", "10.1.0.0/24"),
                subnet("sa2", "a2", "pa", "10.2.0.0/24"),
                subnet("sb1", "b1", "pb", "10.9.0.0/24"),
            ],
        )),
        openstack::parse_security_groups(&body(
            "security_groups",
            vec![sample(
                &format!("{NEUTRON}/security-groups/security-groups-list-response.json"),
                "security_groups",
                json!({"id": "sg-web", "name": "web", "project_id": "pa", "tenant_id": "pa",
                "security_group_rules": [sample(
                    &format!("{NEUTRON}/security-groups/security-group-rules-list-response.json"),
                    "security_group_rules",
                    json!({"id": "r-self", "security_group_id": "sg-web", "direction": "ingress",
                           "protocol": "tcp", "port_range_min": 443, "port_range_max": 443,
                           "remote_group_id": "sg-web", "remote_ip_prefix": null, "ethertype": "IPv4"}),
                )]}),
            )],
        )),
        openstack::parse_servers(&body(
            "servers",
            vec![
                server("vm-a", "pa", "10.1.0.5"),
                server("vm-open", "pa", "10.2.0.7"),
                server("vm-a2", "pa", "10.2.0.9"),
            ],
        )),
        openstack::parse_ports(&body(
            "ports",
            vec![
                port(
                    "p-a",
                    "compute:nova",
                    "vm-a",
                    "a1",
                    fixed("sa1", "10.1.0.5"),
                    &["sg-web"],
                ),
                {
                    let mut open = port(
                        "p-open",
                        "compute:nova",
                        "vm-open",
                        "a2",
                        fixed("sa2", "10.2.0.7"),
                        &[],
                    );
                    open["port_security_enabled"] = json!(false);
                    open
                },
                port(
                    "p-a2",
                    "compute:nova",
                    "vm-a2",
                    "a2",
                    fixed("sa2", "10.2.0.9"),
                    &["sg-web"],
                ),
                port(
                    "ri-a1",
                    "network:router_interface",
                    "rt-1",
                    "a1",
                    fixed("sa1", "10.1.0.1"),
                    &[],
                ),
                port(
                    "ri-b1",
                    "network:router_interface",
                    "rt-1",
                    "b1",
                    fixed("sb1", "10.9.0.1"),
                    &[],
                ),
            ],
        )),
        openstack::parse_routers(&body(
            "routers",
            vec![sample(
                &format!("{NEUTRON}/routers/routers-list-response.json"),
                "routers",
                json!({"id": "rt-1", "name": "edge", "project_id": "pa", "tenant_id": "pa"}),
            )],
        )),
        openstack::parse_firewall_groups(&body(
            "firewall_groups",
            vec![sample(
                &format!("{NEUTRON}/firewall-v2/firewall-groups-list-response.json"),
                "firewall_groups",
                json!({"id": "fwg-1", "project_id": "pa", "tenant_id": "pa", "ports": ["ri-a1"],
                       "ingress_firewall_policy_id": "fwp-1", "egress_firewall_policy_id": "fwp-1"}),
            )],
        )),
        openstack::parse_firewall_policies(&body(
            "firewall_policies",
            vec![sample(
                &format!("{NEUTRON}/firewall-v2/firewall-policies-list-response.json"),
                "firewall_policies",
                json!({"id": "fwp-1", "project_id": "pa", "firewall_rules": ["fwr-http", "fwr-off", "fwr-deny"]}),
            )],
        )),
        openstack::parse_firewall_rules(&body("firewall_rules", {
            let rules = &format!("{NEUTRON}/firewall-v2/firewall-rules-list-response.json");
            vec![
                sample(rules, "firewall_rules", json!({"id": "fwr-http"})),
                sample(
                    rules,
                    "firewall_rules",
                    json!({"id": "fwr-off", "name": "OFF", "enabled": false}),
                ),
                sample(
                    rules,
                    "firewall_rules",
                    json!({"id": "fwr-deny", "name": "DENY_HIGH", "action": "reject", "protocol": null,
                           "destination_port": null, "source_port": "1024:65535",
                           "source_ip_address": "10.9.0.0/24"}),
                ),
            ]
        })),
    ] {
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        observed.merge(found);
    }
    observed.extensions.extend(extensions.iter().copied());
    observed
}

fn placement() -> Placement {
    Placement {
        zone: "政务外网区".into(),
        datacenter_id: "dc-1".into(),
        datacenters: Vec::new(),
        availability_zones: Default::default(),
        backup_kind: "local".into(),
    }
}

fn find<'a>(objects: &'a [PushedObject], kind: Kind, id: &str) -> &'a PushedObject {
    objects
        .iter()
        .find(|object| object.kind == kind && object.external_id == id)
        .unwrap_or_else(|| panic!("no {kind:?} {id}"))
}

fn keys<'a>(object: &'a PushedObject, field: &str) -> Vec<&'a str> {
    object
        .lists
        .iter()
        .find(|list| list.field == field)
        .map(|list| list.keys.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn reference<'a>(object: &'a PushedObject, field: &str) -> Option<&'a str> {
    object
        .references
        .iter()
        .find(|reference| reference.field == field)
        .map(|reference| reference.key.as_str())
}

#[test]
fn vm_groups_routers_and_fwaas_become_the_worlds_network_objects() {
    let translated = translate::openstack(&cloud(&["routers", "fwaas"]), &placement());
    let objects = &translated.objects;
    for kind in [Kind::VpcPeering, Kind::Route, Kind::FirewallRule] {
        assert!(translated.kinds.contains(&kind), "{kind:?}");
    }

    // Groups from the ports; port security off is an allow-all group of the network.
    assert_eq!(
        keys(find(objects, Kind::Vm, "vm-a"), "security_group_ids"),
        ["sg-web"]
    );
    assert_eq!(
        keys(find(objects, Kind::Vm, "vm-open"), "security_group_ids"),
        ["port-security-off:a2"]
    );
    let open = find(objects, Kind::SecurityGroup, "port-security-off:a2");
    assert_eq!(reference(open, "vpc_id"), Some("a2"));
    for direction in ["ingress", "egress"] {
        let rule = find(
            objects,
            Kind::SecurityGroupRule,
            &format!("port-security-off:a2:{direction}"),
        );
        assert_eq!(rule.values["remote_cidr"], Field::Text("0.0.0.0/0".into()));
        assert_eq!(rule.values["protocol"], Field::Text("any".into()));
    }

    // sg-web is used in a1 and a2: recorded in a1 and copied into a2 with its rule, whose
    // remote (the group itself) is the copy in the same network.
    assert_eq!(
        keys(find(objects, Kind::Vm, "vm-a2"), "security_group_ids"),
        ["sg-web@a2"]
    );
    let copy = find(objects, Kind::SecurityGroup, "sg-web@a2");
    assert_eq!(reference(copy, "vpc_id"), Some("a2"));
    assert_eq!(
        reference(find(objects, Kind::SecurityGroup, "sg-web"), "vpc_id"),
        Some("a1")
    );
    let rule = find(objects, Kind::SecurityGroupRule, "r-self@a2");
    assert_eq!(reference(rule, "security_group_id"), Some("sg-web@a2"));
    assert_eq!(reference(rule, "remote_group_id"), Some("sg-web@a2"));
    let original = find(objects, Kind::SecurityGroupRule, "r-self");
    assert_eq!(reference(original, "remote_group_id"), Some("sg-web"));

    // The router joins a1 (pa) and b1 (pb): a peering with routes both ways, a NAT
    // default route and the extra route for each, nothing for a2 (not attached).
    let peering = find(objects, Kind::VpcPeering, "rt-1:a1:b1");
    assert_eq!(reference(peering, "vpc_id"), Some("a1"));
    assert_eq!(reference(peering, "peer_vpc_id"), Some("b1"));
    let route = |id: &str| find(objects, Kind::Route, id);
    assert_eq!(
        route("rt-1:a1:peer:10.9.0.0/24").values["next_hop"],
        Field::Text("peering".into())
    );
    assert_eq!(
        reference(route("rt-1:b1:peer:10.1.0.0/24"), "peering_id"),
        Some("rt-1:a1:b1")
    );
    for network in ["a1", "b1"] {
        assert_eq!(
            route(&format!("rt-1:{network}:gateway")).values["next_hop"],
            Field::Text("nat_gateway".into())
        );
        let extra = route(&format!("rt-1:{network}:extra:179.24.1.0/24"));
        assert_eq!(extra.values["next_hop"], Field::Text("address".into()));
    }
    assert!(!objects
        .iter()
        .any(|object| object.kind == Kind::Route && object.external_id.contains(":a2:")));

    // FWaaS: pa's firewall in the policy's order; the disabled rule left out; reject is
    // deny; a source-port match is marked as not verifiable (taken at layer 4).
    let http = find(objects, Kind::FirewallRule, "fwr-http");
    assert_eq!(http.project.as_deref(), Some("pa"));
    assert_eq!(http.values["position"], Field::Int(1));
    assert_eq!(http.values["port_from"], Field::Int(80));
    assert_eq!(http.values["source_cidr"], Field::Text("0.0.0.0/0".into()));
    let deny = find(objects, Kind::FirewallRule, "fwr-deny");
    assert_eq!(deny.values["position"], Field::Int(2));
    assert_eq!(deny.values["action"], Field::Text("deny".into()));
    assert_eq!(
        deny.values["source_cidr"],
        Field::Text("10.9.0.0/24".into())
    );
    assert_eq!(
        deny.values["application"],
        Field::Text("source port 1024:65535".into())
    );
    assert!(!objects.iter().any(|object| object.external_id == "fwr-off"));

    // The whole snapshot plans: the cross-tenant peering belongs to a1's tenant.
    let current = Current {
        provider_id: 4,
        rows: Vec::new(),
        zones: HashMap::from([("政务外网区".to_owned(), 2)]),
        projects: HashMap::from([("pa".to_owned(), 11), ("pb".to_owned(), 12)]),
    };
    let plan = sync::plan(&current, Mode::Full, objects, &translated.coverage())
        .unwrap_or_else(|problems| panic!("{problems:?}"));
    let created = |kind: Kind, id: &str| {
        plan.creates
            .iter()
            .find(|create| create.kind == kind && create.external_id == id)
            .unwrap_or_else(|| panic!("{kind:?} {id} not created"))
    };
    assert_eq!(
        created(Kind::VpcPeering, "rt-1:a1:b1").values["tenant_id"],
        Field::Int(11)
    );
    assert_eq!(
        created(Kind::FirewallRule, "fwr-deny").values["tenant_id"],
        Field::Int(11)
    );
    let Field::IdList(groups) = &created(Kind::Vm, "vm-a").values["security_group_ids"] else {
        panic!("no groups");
    };
    assert_eq!(groups.len(), 1);
}

#[test]
fn a_cloud_without_the_extensions_says_nothing_of_their_kinds() {
    let translated = translate::openstack(&cloud(&[]), &placement());
    for kind in [Kind::VpcPeering, Kind::Route, Kind::FirewallRule] {
        assert!(!translated.kinds.contains(&kind), "{kind:?}");
        assert!(!translated.objects.iter().any(|object| object.kind == kind));
    }
    // VM groups come from ports, which every Neutron has.
    assert_eq!(
        keys(
            find(&translated.objects, Kind::Vm, "vm-a"),
            "security_group_ids"
        ),
        ["sg-web"]
    );
}

#[test]
fn the_router_and_fwaas_samples_parse() {
    let routers = openstack::parse_routers(&fixture(&format!(
        "{NEUTRON}/routers/routers-list-response.json"
    )));
    assert!(routers.problems.is_empty(), "{:?}", routers.problems);
    let router2 = routers
        .objects
        .iter()
        .find(|router| router.external_id == "915a14a6-867b-4af7-83d1-70efceb146f9")
        .expect("router2");
    assert_eq!(router2.fields["enable_snat"], json!(true));
    assert_eq!(
        router2.fields["routes"],
        json!([{"destination": "179.24.1.0/24", "nexthop": "172.24.3.99"}])
    );
    let ports = openstack::parse_ports(&fixture(&format!(
        "{NEUTRON}/ports/ports-list-response.json"
    )));
    let interface = ports
        .objects
        .iter()
        .find(|port| port.external_id == "f71a6703-d6de-4be1-a91a-a570ede1d159")
        .expect("router interface");
    assert_eq!(
        interface.references["router"],
        "9ae135f4-b6e0-4dad-9e91-3c223e385824"
    );
    assert_eq!(interface.fields["port_security_enabled"], json!(false));
    // The gateway port is not an interface on a tenant network.
    assert!(ports
        .objects
        .iter()
        .filter(|port| port.references.contains_key("router"))
        .all(|port| port.external_id == "f71a6703-d6de-4be1-a91a-a570ede1d159"));

    let base = format!("{NEUTRON}/firewall-v2");
    let groups = openstack::parse_firewall_groups(&fixture(&format!(
        "{base}/firewall-groups-list-response.json"
    )));
    let group = &groups.objects[0];
    assert_eq!(
        group.references["ingress_policy"],
        "c69933c1-b472-44f9-8226-30dc4ffd454c"
    );
    assert_eq!(
        group.fields["ports"],
        json!(["650bfd2f-7766-4a0d-839f-218f33e16998"])
    );
    let policies = openstack::parse_firewall_policies(&fixture(&format!(
        "{base}/firewall-policies-list-response.json"
    )));
    assert_eq!(
        policies.objects[0].fields["rules"],
        json!(["8722e0e0-9cc9-4490-9660-8c9a5732fbb0"])
    );
    let rules = openstack::parse_firewall_rules(&fixture(&format!(
        "{base}/firewall-rules-list-response.json"
    )));
    let rule = &rules.objects[0];
    assert_eq!(rule.fields["action"], json!("allow"));
    assert_eq!(rule.fields["destination_port"], json!("80"));
    assert!(!rule.fields.contains_key("source"), "a null address is any");

    // Garbage: one problem for the body, never a panic; a bad rule is that rule's.
    assert_eq!(openstack::parse_routers(b"<html>").problems.len(), 1);
    let bad = openstack::parse_firewall_rules(
        br#"{"firewall_rules": [{"id": "x", "action": "maybe"}, {"id": "y", "action": "allow"}]}"#,
    );
    assert_eq!(bad.problems.len(), 1);
    assert_eq!(bad.objects.len(), 1);
}
