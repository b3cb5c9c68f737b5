//! The OpenStack parsers against the projects' own api-ref samples
//! (`../shared/fixtures/openstack`, Apache-2.0: nova doc/api_samples, neutron-lib,
//! cinder, glance and keystone api-ref; see the fixtures' README for the commits).

use std::path::PathBuf;

mod kubernetes;
mod network;
mod pull;
mod sync;

use yunjian_connectors::openstack::{self, TokenError};
use yunjian_connectors::ObservedKind;

pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let full =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/openstack")
            .join(path);
    std::fs::read(&full).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

#[test]
fn keystone_tokens_give_the_service_catalog() {
    let body = fixture("keystone/api-ref/source/v3/samples/admin/auth-token-scoped-response.json");
    let token = openstack::parse_token(Some("gAAAAAB-secret"), &body).expect("token");
    assert_eq!(token.expires_at, "2015-11-05T22:00:11.000000Z");
    assert!(
        token.endpoint("compute", "public", None).is_some(),
        "{token:?}"
    );
    assert!(
        !format!("{token:?}").contains("gAAAAAB-secret"),
        "Debug redacts the token"
    );
    assert_eq!(
        openstack::parse_token(None, &body),
        Err(TokenError::NoToken)
    );
    // The upstream samples that are not JSON give a clear error.
    let broken =
        fixture("keystone/api-ref/source/v3/samples/admin/domain-config-default-response.json");
    assert!(matches!(
        openstack::parse_token(Some("t"), &broken),
        Err(TokenError::Body(_))
    ));
}

#[test]
fn nova_servers_with_flavor_image_and_addresses() {
    let observed = openstack::parse_servers(&fixture(
        "nova/doc/api_samples/servers/v2.100/servers-details-resp.json",
    ));
    assert!(observed.problems.is_empty(), "{:?}", observed.problems);
    let server = observed
        .of_kind(ObservedKind::Server)
        .next()
        .expect("a server");
    assert_eq!(server.fields["vcpus"], 1);
    assert_eq!(server.fields["memory_mib"], 512);
    assert_eq!(
        server.fields["ip_addresses"],
        serde_json::json!(["192.168.1.30"])
    );
    assert_eq!(
        server.references["image"],
        "70a599e0-31e7-49b7-b260-868f441e862b"
    );
    assert!(server.project.is_some());
    // The host is admin-only data: not in this sample, so no reference rather than a guess.
    assert!(!server.references.contains_key("host"));
}

#[test]
fn nova_hypervisors_list_their_servers() {
    let observed = openstack::parse_hypervisors(&fixture(
        "nova/doc/api_samples/os-hypervisors/v2.88/hypervisors-detail-with-servers-resp.json",
    ));
    assert!(observed.problems.is_empty(), "{:?}", observed.problems);
    let host = observed.of_kind(ObservedKind::Host).next().expect("a host");
    assert!(host.fields["servers"]
        .as_array()
        .is_some_and(|servers| !servers.is_empty()));
}

#[test]
fn neutron_networks_subnets_ports_and_security_groups() {
    let base = "neutron/api-ref/source/v2/samples";
    let networks = openstack::parse_networks(&fixture(&format!(
        "{base}/networks/networks-list-response.json"
    )));
    assert!(networks.problems.is_empty() && !networks.objects.is_empty());
    let subnets = openstack::parse_subnets(&fixture(&format!(
        "{base}/subnets/subnets-list-response.json"
    )));
    let subnet = subnets
        .of_kind(ObservedKind::Subnet)
        .next()
        .expect("subnet");
    assert_eq!(subnet.fields["cidr"], "10.0.0.0/24");
    assert_eq!(
        subnet.references["network"],
        "db193ab3-96e3-4cb3-8fc5-05f4296d0324"
    );
    let ports = openstack::parse_ports(&fixture(&format!("{base}/ports/ports-list-response.json")));
    assert!(ports.problems.is_empty(), "{:?}", ports.problems);
    assert!(ports
        .objects
        .iter()
        .all(|port| port.references.contains_key("network")));
    let groups = openstack::parse_security_groups(&fixture(&format!(
        "{base}/security-groups/security-groups-list-response.json"
    )));
    assert!(groups.problems.is_empty(), "{:?}", groups.problems);
    assert!(groups.of_kind(ObservedKind::SecurityGroup).count() >= 1);
    let rules = openstack::parse_security_group_rules(&fixture(&format!(
        "{base}/security-groups/security-group-rules-list-response.json"
    )));
    let rule = rules
        .of_kind(ObservedKind::SecurityGroupRule)
        .next()
        .expect("rule");
    // Neutron's null protocol and ports are any protocol, all ports.
    assert_eq!(rule.fields["protocol"], "any");
    assert!(!rule.fields.contains_key("port_from"));
    assert_eq!(rule.fields["action"], "allow");
    assert_eq!(
        rule.references["security_group"],
        "85cc3048-abc3-43cc-89b3-377341426ac5"
    );
}

#[test]
fn cinder_volumes_snapshots_and_backups() {
    let base = "cinder/api-ref/source/v3/samples";
    let volumes = openstack::parse_volumes(&fixture(&format!(
        "{base}/volumes/v3.61/volumes-list-detailed-response.json"
    )));
    assert!(volumes.problems.is_empty(), "{:?}", volumes.problems);
    let volume = volumes
        .of_kind(ObservedKind::Volume)
        .next()
        .expect("volume");
    assert_eq!(volume.fields["encrypted"], false);
    assert_eq!(volume.fields["size_gib"], 10);
    let snapshots = openstack::parse_snapshots(&fixture(&format!(
        "{base}/snapshots/snapshots-list-detailed-response.json"
    )));
    assert!(
        snapshots.problems.is_empty()
            && snapshots
                .objects
                .iter()
                .all(|s| s.references.contains_key("volume"))
    );
    let backups = openstack::parse_backups(&fixture(&format!(
        "{base}/backups/backups-list-detailed-response.json"
    )));
    assert!(backups.problems.is_empty() && !backups.objects.is_empty());
}

#[test]
fn glance_images_carry_the_providers_hash() {
    let base = "glance/api-ref/source/v2/samples";
    let images = openstack::parse_images(&fixture(&format!("{base}/images-list-response.json")));
    assert!(images.problems.is_empty(), "{:?}", images.problems);
    let first = images.of_kind(ObservedKind::Image).next().expect("image");
    assert!(first.fields["digest"]
        .as_str()
        .expect("digest")
        .starts_with("sha512:073b4523"));
    let one = openstack::parse_image(&fixture(&format!("{base}/image-show-response.json")));
    assert_eq!(one.objects.len(), 1);
}

#[test]
fn a_bad_object_is_one_problem_and_a_bad_body_is_one_problem() {
    // One good server, one without an id, one without a flavor: two kept problems.
    let body = br#"{"servers": [
        {"id": "a", "name": "ok", "flavor": {"vcpus": 2, "ram": 2048}, "image": {"id": "i"}, "addresses": {}},
        {"name": "no id", "flavor": {"vcpus": 1, "ram": 512}},
        {"id": "c", "name": "no flavor"}
    ]}"#;
    let observed = openstack::parse_servers(body);
    assert_eq!(observed.objects.len(), 1);
    assert_eq!(observed.problems.len(), 2);
    assert_eq!(observed.problems[0].index, Some(1));
    assert_eq!(observed.problems[1].external_id.as_deref(), Some("c"));
    assert!(observed.problems[1].reason.contains("flavor"));
    // Garbage, truncated JSON, the wrong list: one problem each, no panic.
    for garbage in [
        &b"<html>502 Bad Gateway</html>"[..],
        b"{\"servers\": [",
        b"{\"images\": []}",
        b"",
    ] {
        let observed = openstack::parse_servers(garbage);
        assert!(observed.objects.is_empty());
        assert_eq!(observed.problems.len(), 1, "{garbage:?}");
    }
    // The keystone samples that are not valid JSON, read as images: one problem.
    let broken = fixture(
        "keystone/api-ref/source/v3/samples/admin/domain-config-group-default-response.json",
    );
    let observed = openstack::parse_images(&broken);
    assert!(observed.problems[0].reason.starts_with("not valid JSON"));
}
