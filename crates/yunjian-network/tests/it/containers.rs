//! NetworkPolicy evaluation against the recipes of `ahmetb/kubernetes-network-policy-recipes`
//! (`../shared/fixtures/kubernetes`): each recipe's policy as it is written there, and
//! the traffic the recipe says is blocked or allowed.

use std::collections::BTreeMap;
use std::net::IpAddr;

use yunjian_network::checks::{cluster_findings, Invariant, Subject};
use yunjian_network::containers::{connection, Compiled};
use yunjian_network::engine::Network;
use yunjian_network::model::{ContainerPolicy, Model, Pod, Protocol};

/// The recipe's policies (every YAML block that is a NetworkPolicy), in `namespace`
/// when their metadata names none.
fn recipe(file: &str) -> Vec<(String, String)> {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../../shared/fixtures/kubernetes")
    .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut policies = Vec::new();
    for block in text.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap_or_default();
        let Ok(document) = serde_yaml::from_str::<serde_json::Value>(yaml) else {
            continue;
        };
        if document["kind"] != "NetworkPolicy" {
            continue;
        }
        let namespace = document["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        policies.push((namespace, document["spec"].to_string()));
    }
    assert!(!policies.is_empty(), "{file} has no NetworkPolicy");
    policies
}

fn compiled(policies: &[(String, String)]) -> Vec<Compiled> {
    policies
        .iter()
        .enumerate()
        .map(|(index, (namespace, spec))| {
            Compiled::of(&ContainerPolicy {
                id: index as i64 + 1,
                tenant_id: 1,
                cluster: "c".into(),
                namespace: namespace.clone(),
                spec: spec.clone(),
            })
        })
        .collect()
}

fn pod(
    id: i64,
    namespace: &str,
    labels: &[(&str, &str)],
    namespace_labels: &[(&str, &str)],
) -> Pod {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    Pod {
        id,
        tenant_id: 1,
        cluster: "c".into(),
        namespace: namespace.into(),
        labels: map(labels),
        namespace_labels: map(namespace_labels),
        address: Some(IpAddr::from([10, 244, 0, id as u8])),
    }
}

fn reaches(policies: &[Compiled], from: &Pod, to: &Pod, protocol: Protocol, port: u16) -> bool {
    connection(policies, from, to).0.contains(protocol, port)
}

const TCP: Protocol = Protocol::Tcp;

#[test]
fn deny_all_and_allow_all_to_an_application() {
    // 01: web-deny-all drops all traffic to app=web.
    let deny = recipe("01-deny-all-traffic-to-an-application.md");
    let web = pod(1, "default", &[("app", "web")], &[]);
    let other = pod(2, "default", &[("app", "client")], &[]);
    let policies = compiled(&deny);
    assert!(!reaches(&policies, &other, &web, TCP, 80));
    // Other pods are not isolated.
    assert!(reaches(&policies, &web, &other, TCP, 80));
    // 02a: web-allow-all beside it makes the deny void, from any namespace.
    let mut both = deny.clone();
    both.extend(recipe("02a-allow-all-traffic-to-an-application.md"));
    let policies = compiled(&both);
    let foreign = pod(3, "foo", &[], &[]);
    assert!(reaches(&policies, &other, &web, TCP, 80));
    assert!(reaches(&policies, &foreign, &web, TCP, 80));
}

#[test]
fn limit_traffic_to_an_application() {
    // 02: only app=bookstore reaches the bookstore API.
    let policies = compiled(&recipe("02-limit-traffic-to-an-application.md"));
    let api = pod(1, "default", &[("app", "bookstore"), ("role", "api")], &[]);
    let unlabelled = pod(2, "default", &[("run", "test")], &[]);
    let bookstore = pod(3, "default", &[("app", "bookstore")], &[]);
    assert!(!reaches(&policies, &unlabelled, &api, TCP, 80));
    assert!(reaches(&policies, &bookstore, &api, TCP, 80));
}

#[test]
fn namespace_defaults_and_other_namespaces() {
    // 03: default-deny-all isolates every pod of the namespace.
    let policies = compiled(&recipe(
        "03-deny-all-non-whitelisted-traffic-in-the-namespace.md",
    ));
    let a = pod(1, "default", &[("app", "a")], &[]);
    let b = pod(2, "default", &[("app", "b")], &[]);
    assert!(!reaches(&policies, &a, &b, TCP, 80));
    // 04: traffic from the same namespace only.
    let policies = compiled(&recipe("04-deny-traffic-from-other-namespaces.md"));
    let web = pod(1, "default", &[("app", "web")], &[]);
    let foo = pod(2, "foo", &[], &[]);
    let neighbour = pod(3, "default", &[], &[]);
    assert!(!reaches(&policies, &foo, &web, TCP, 80));
    assert!(reaches(&policies, &neighbour, &web, TCP, 80));
    // 05: from all namespaces, even beside a deny-all.
    let mut both = recipe("01-deny-all-traffic-to-an-application.md");
    both.extend(recipe("05-allow-traffic-from-all-namespaces.md"));
    let policies = compiled(&both);
    let bar = pod(4, "bar", &[], &[]);
    assert!(reaches(&policies, &foo, &web, TCP, 80));
    assert!(reaches(&policies, &bar, &web, TCP, 80));
}

#[test]
fn traffic_from_a_namespace_and_from_some_pods_in_it() {
    // 06: namespaces labelled purpose=production only.
    let policies = compiled(&recipe("06-allow-traffic-from-a-namespace.md"));
    let web = pod(1, "default", &[("app", "web")], &[]);
    let dev = pod(2, "dev", &[], &[("purpose", "testing")]);
    let prod = pod(3, "prod", &[], &[("purpose", "production")]);
    assert!(!reaches(&policies, &dev, &web, TCP, 80));
    assert!(reaches(&policies, &prod, &web, TCP, 80));
    // 07: type=monitoring pods in namespaces labelled team=operations: both must hold.
    let policies = compiled(&recipe(
        "07-allow-traffic-from-some-pods-in-another-namespace.md",
    ));
    let plain = pod(4, "default", &[], &[]);
    let monitoring_here = pod(5, "default", &[("type", "monitoring")], &[]);
    let plain_there = pod(6, "other", &[], &[("team", "operations")]);
    let monitoring_there = pod(
        7,
        "other",
        &[("type", "monitoring")],
        &[("team", "operations")],
    );
    assert!(!reaches(&policies, &plain, &web, TCP, 80));
    assert!(!reaches(&policies, &monitoring_here, &web, TCP, 80));
    assert!(!reaches(&policies, &plain_there, &web, TCP, 80));
    assert!(reaches(&policies, &monitoring_there, &web, TCP, 80));
}

#[test]
fn ports_and_multiple_selectors() {
    // 09: role=monitoring reaches the API server on 5000 only; named ports are
    // approximated (every TCP port) and said so.
    let recipes = recipe("09-allow-traffic-only-to-a-port.md");
    let policies = compiled(&recipes[..1]);
    let api = pod(1, "default", &[("app", "apiserver")], &[]);
    let monitoring = pod(2, "default", &[("role", "monitoring")], &[]);
    let other = pod(3, "default", &[], &[]);
    assert!(reaches(&policies, &monitoring, &api, TCP, 5000));
    assert!(!reaches(&policies, &monitoring, &api, TCP, 8000));
    assert!(!reaches(&policies, &other, &api, TCP, 5000));
    assert!(policies[0].approximations.is_empty());
    // 10: three selectors, any of them.
    let policies = compiled(&recipe("10-allowing-traffic-with-multiple-selectors.md"));
    let db = pod(1, "default", &[("app", "bookstore"), ("role", "db")], &[]);
    let search = pod(
        2,
        "default",
        &[("app", "bookstore"), ("role", "search")],
        &[],
    );
    let inventory = pod(3, "default", &[("app", "inventory"), ("role", "web")], &[]);
    let stranger = pod(4, "default", &[("app", "other")], &[]);
    assert!(reaches(&policies, &search, &db, TCP, 6379));
    assert!(reaches(&policies, &inventory, &db, TCP, 6379));
    assert!(!reaches(&policies, &stranger, &db, TCP, 6379));
}

#[test]
fn egress_policies() {
    // 11: app=foo may send nothing, then (second version) only DNS to kube-dns.
    let versions = recipe("11-deny-egress-traffic-from-an-application.md");
    let foo = pod(1, "default", &[("app", "foo")], &[]);
    let web = pod(2, "default", &[("app", "web")], &[]);
    let dns = pod(3, "kube-system", &[("k8s-app", "kube-dns")], &[]);
    let policies = compiled(&versions[..1]);
    assert!(!reaches(&policies, &foo, &web, TCP, 80));
    assert!(!reaches(&policies, &foo, &dns, Protocol::Udp, 53));
    // Ingress to foo is untouched by an egress-only policy.
    assert!(reaches(&policies, &web, &foo, TCP, 80));
    let policies = compiled(&versions[1..2]);
    assert!(reaches(&policies, &foo, &dns, Protocol::Udp, 53));
    assert!(reaches(&policies, &foo, &dns, TCP, 53));
    assert!(!reaches(&policies, &foo, &dns, TCP, 80));
    assert!(!reaches(&policies, &foo, &web, TCP, 80));
    // 12: nothing leaves the default namespace.
    let policies = compiled(&recipe(
        "12-deny-all-non-whitelisted-traffic-from-the-namespace.md",
    ));
    assert!(!reaches(&policies, &web, &dns, Protocol::Udp, 53));
    assert!(reaches(&policies, &dns, &web, TCP, 80));
    // 14: only the cluster's DNS, by its namespace's name label.
    let policies = compiled(&recipe("14-deny-external-egress-traffic.md"));
    assert!(reaches(&policies, &foo, &dns, Protocol::Udp, 53));
    assert!(!reaches(&policies, &foo, &web, TCP, 80));
}

/// Two tenants' namespaces on one cluster: without policies every pod of one reaches
/// the other's and neither is segmented; recipe 04 in both closes the paths; a named
/// port is reported as not verifiable; an unreadable spec isolates nothing and says so.
#[test]
fn cluster_findings_name_cross_tenant_pods_and_unsegmented_namespaces() {
    let mut a = pod(1, "tenant-a", &[("app", "web")], &[]);
    a.tenant_id = 11;
    let mut a2 = pod(2, "tenant-a", &[("app", "web")], &[]);
    a2.tenant_id = 11;
    let mut b = pod(3, "tenant-b", &[("app", "api")], &[]);
    b.tenant_id = 12;
    let model = |policies: Vec<ContainerPolicy>| Model {
        pods: vec![a.clone(), a2.clone(), b.clone()],
        container_policies: policies,
        ..Model::default()
    };
    let network = Network::compile(model(Vec::new()));
    let findings = cluster_findings(&network.clusters()[0]);
    let cross: Vec<_> = findings
        .iter()
        .filter(|finding| finding.invariant == Invariant::ContainerCrossTenant)
        .collect();
    assert_eq!(cross.len(), 2, "{cross:#?}");
    // One finding for both of tenant a's identical pods.
    let from_a = cross
        .iter()
        .find(|finding| {
            matches!(&finding.subject, Subject::Pods { source_namespace, .. } if source_namespace == "tenant-a")
        })
        .expect("a → b");
    let Subject::Pods { sources, .. } = &from_a.subject else {
        panic!("{:?}", from_a.subject);
    };
    assert_eq!(sources, &[1, 2]);
    assert_eq!(from_a.tenants, [11, 12]);
    assert!(from_a.example.is_some());
    let open = findings
        .iter()
        .filter(|finding| finding.invariant == Invariant::ContainerUnsegmented)
        .count();
    assert_eq!(open, 2);

    let same_namespace = &recipe("04-deny-traffic-from-other-namespaces.md")[0].1;
    let policy = |id: i64, tenant: i64, namespace: &str, spec: &str| ContainerPolicy {
        id,
        tenant_id: tenant,
        cluster: "c".into(),
        namespace: namespace.into(),
        spec: spec.into(),
    };
    let network = Network::compile(model(vec![
        policy(1, 11, "tenant-a", same_namespace),
        policy(2, 12, "tenant-b", same_namespace),
    ]));
    assert!(cluster_findings(&network.clusters()[0]).is_empty());

    let named = r#"{"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}"#;
    let network = Network::compile(model(vec![
        policy(1, 11, "tenant-a", named),
        policy(2, 12, "tenant-b", "not json"),
    ]));
    let findings = cluster_findings(&network.clusters()[0]);
    let reasons: Vec<String> = findings
        .iter()
        .filter(|finding| finding.invariant == Invariant::NotVerifiable)
        .map(|finding| finding.reason.to_string())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons
        .iter()
        .any(|reason| reason.contains("named port 'http'")));
    assert!(reasons
        .iter()
        .any(|reason| reason.contains("not a NetworkPolicy spec")));
    // The named port allows every TCP port (toward allowing), so b reaches a; the
    // unreadable policy isolates nothing, so b's namespace is unsegmented.
    assert!(findings.iter().any(|finding| matches!(
        &finding.subject,
        Subject::Pods {
            source: 3,
            destination: 1,
            ..
        }
    )));
    assert!(findings.iter().any(|finding| matches!(
        &finding.subject,
        Subject::Namespace { namespace, .. } if namespace == "tenant-b"
    )));
    // The model round-trips through plain data.
    let again = Network::compile(network.to_model());
    assert_eq!(again.clusters(), network.clusters());
}
