//! Any bytes as a Kubernetes NetworkPolicy spec: compiled without a panic, evaluated
//! over a few pods, and the API's semantics hold — a policy reaches only the pods of its
//! own namespace (pods elsewhere keep every port open to each other), and the same spec
//! compiles to the same policy.
#![no_main]

use std::collections::BTreeMap;
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use yunjian_network::containers::{connection, Compiled};
use yunjian_network::model::{ContainerPolicy, Pod, Ports, Protocol};
use yunjian_network::ports::PortSet;

fn pod(id: i64, namespace: &str, app: &str) -> Pod {
    Pod {
        id,
        tenant_id: id % 2 + 1,
        cluster: "c".into(),
        namespace: namespace.into(),
        labels: BTreeMap::from([("app".to_owned(), app.to_owned())]),
        namespace_labels: BTreeMap::from([("team".to_owned(), namespace.to_owned())]),
        address: Some(IpAddr::from([10, 0, 0, id as u8])),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else {
        return;
    };
    let policy = ContainerPolicy {
        id: 1,
        tenant_id: 1,
        cluster: "c".into(),
        namespace: "a".into(),
        spec: spec.to_owned(),
    };
    let compiled = Compiled::of(&policy);
    assert_eq!(compiled, Compiled::of(&policy));
    let policies = [compiled];
    let pods = [
        pod(1, "a", "web"),
        pod(2, "a", "db"),
        pod(3, "b", "web"),
        pod(4, "b", "db"),
    ];
    let all = PortSet::of(Protocol::Any, Ports::ALL);
    for source in &pods {
        for destination in &pods {
            let (set, _) = connection(&policies, source, destination);
            if source.namespace != "a" && destination.namespace != "a" {
                assert_eq!(set, all);
            }
        }
    }
});
