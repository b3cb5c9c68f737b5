//! The Kubernetes adapter against a local API server: namespaces, pods (paged with
//! `continue`) and the NetworkPolicies of the fixtures' recipes
//! (`../shared/fixtures/kubernetes`, YAML blocks served as the API's JSON), translated
//! into the standard API's objects and planned.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use yunjian_connectors::fetch::{self, AdapterError, Limits};
use yunjian_connectors::kubernetes;
use yunjian_connectors::sync::{self, Current, Mode};
use yunjian_connectors::translate;
use yunjian_core::schema::Kind;
use yunjian_core::value::Value as Field;

const TOKEN: &str = "service-account-token";

/// Every NetworkPolicy in the recipes' YAML blocks, as the API lists them.
fn fixture_policies() -> Vec<Value> {
    let dir = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../../shared/fixtures/kubernetes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    files.sort();
    let mut policies = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("recipe");
        for block in text.split("```yaml").skip(1) {
            let yaml = block.split("```").next().unwrap_or("");
            for document in serde_yaml::Deserializer::from_str(yaml) {
                let Ok(value) = <Value as serde::Deserialize>::deserialize(document) else {
                    continue;
                };
                if value["kind"] != "NetworkPolicy" {
                    continue;
                }
                let mut policy = value.clone();
                let namespace = policy["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_owned();
                let n = policies.len();
                policy["metadata"]["namespace"] = json!(namespace);
                policy["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{n:012}"));
                policies.push(policy);
            }
        }
    }
    policies
}

struct ApiServer {
    policies: Vec<Value>,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

async fn namespaces(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": [
        {"metadata": {"name": "default", "uid": "ns-1", "labels": {"yunjian.io/project": "proj-edu"}}},
        {"metadata": {"name": "shop", "uid": "ns-2"}},
        {"metadata": {"name": "secondary", "uid": "ns-3"}},
    ]}))
    .into_response()
}

async fn pods(headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // Two pages: the second only with the first page's continue token.
    if query.get("continue").map(String::as_str) == Some("page-2") {
        return Json(json!({"kind": "PodList", "metadata": {}, "items": [
            {"metadata": {"name": "no-containers", "namespace": "shop", "uid": "pod-3"}, "spec": {}},
            {"metadata": {"name": "db-0", "namespace": "shop", "uid": "pod-2"},
             "spec": {"nodeName": "node-2", "containers": [{"name": "db", "image": "registry.cq.gov.cn/dm8:8.1"}]},
             "status": {"phase": "Running", "containerStatuses": [{"name": "db", "imageID": "registry.cq.gov.cn/dm8@sha256:BBBB"}]}},
        ]}))
        .into_response();
    }
    Json(json!({"kind": "PodList", "metadata": {"continue": "page-2"}, "items": [
        {"metadata": {"name": "apiserver-7d4", "namespace": "default", "uid": "pod-1",
                      "labels": {"app": "apiserver", "pod-template-hash": "7d4"}},
         "spec": {"nodeName": "node-1", "containers": [{"name": "api", "image": "nginx:1.25"}, {"name": "log", "image": "fluent-bit:2"}]},
         "status": {"phase": "Running", "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}, {"ip": "fd00::7"}],
             "containerStatuses": [
             {"name": "api", "imageID": "docker-pullable://nginx@sha256:aaaa"},
             {"name": "log", "imageID": "sha256:cccc"}]}},
    ]}))
    .into_response()
}

async fn list_policies(State(server): State<Arc<ApiServer>>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"kind": "NetworkPolicyList", "apiVersion": "networking.k8s.io/v1", "metadata": {}, "items": server.policies})).into_response()
}

async fn api_server() -> (String, usize) {
    let policies = fixture_policies();
    let count = policies.len();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = Router::new()
        .route("/api/v1/namespaces", get(namespaces))
        .route("/api/v1/pods", get(pods))
        .route(
            "/apis/networking.k8s.io/v1/networkpolicies",
            get(list_policies),
        )
        .with_state(Arc::new(ApiServer { policies }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, count)
}

#[test]
fn image_digests_come_out_of_every_image_id_form() {
    assert_eq!(
        kubernetes::image_digest("docker-pullable://nginx@sha256:ABcd").as_deref(),
        Some("sha256:abcd")
    );
    assert_eq!(
        kubernetes::image_digest("sha256:00ff").as_deref(),
        Some("sha256:00ff")
    );
    assert_eq!(kubernetes::image_digest("nginx:1.25"), None);
    assert_eq!(kubernetes::image_digest(""), None);
}

#[tokio::test]
async fn pods_and_the_recipes_network_policies_import_through_the_standard_api() {
    let (base, policies) = api_server().await;
    assert!(policies >= 10, "the recipes hold many policies: {policies}");
    let limits = Limits::default();
    let client = fetch::client(&limits).expect("client");
    let refused = fetch::pull_kubernetes(&client, &base, "wrong", &limits).await;
    assert!(
        matches!(refused, Err(AdapterError::Status { status: 401, .. })),
        "{refused:?}"
    );
    let observed = fetch::pull_kubernetes(&client, &base, TOKEN, &limits)
        .await
        .expect("pull");
    // The pod without containers is its own problem; the other pages still came in.
    assert_eq!(observed.problems.len(), 1, "{:?}", observed.problems);
    assert_eq!(observed.problems[0].external_id.as_deref(), Some("pod-3"));
    let translated = translate::kubernetes(&observed, "cq-k8s-1", Some("yunjian.io/project"));
    assert!(translated.problems.is_empty(), "{:?}", translated.problems);
    let workloads: Vec<_> = translated
        .objects
        .iter()
        .filter(|o| o.kind == Kind::ContainerWorkload)
        .collect();
    assert_eq!(workloads.len(), 2);
    let api = workloads
        .iter()
        .find(|o| o.external_id == "pod-1")
        .expect("pod-1");
    assert_eq!(
        api.project.as_deref(),
        Some("proj-edu"),
        "the namespace's label names the project"
    );
    assert_eq!(
        api.values["image_digests"],
        Field::TextList(vec!["sha256:aaaa".into(), "sha256:cccc".into()])
    );
    // What NetworkPolicies select by: the pod's labels, its namespace's, its addresses.
    assert_eq!(
        api.values["labels"],
        Field::TextList(vec!["app=apiserver".into(), "pod-template-hash=7d4".into()])
    );
    assert_eq!(
        api.values["namespace_labels"],
        Field::TextList(vec!["yunjian.io/project=proj-edu".into()])
    );
    let Field::TextList(addresses) = &api.values["ip_addresses"] else {
        panic!("{:?}", api.values["ip_addresses"]);
    };
    assert!(addresses.contains(&"10.244.1.7".to_owned()) && addresses.len() == 2);
    let db = workloads
        .iter()
        .find(|o| o.external_id == "pod-2")
        .expect("pod-2");
    assert_eq!(
        db.project.as_deref(),
        Some("shop"),
        "else the namespace's name"
    );
    assert_eq!(
        translated
            .objects
            .iter()
            .filter(|o| o.kind == Kind::NetworkPolicy)
            .count(),
        policies
    );
    // Planned with the projects mapped: everything is created; nothing of the
    // provider's VMs is in this snapshot's coverage, so nothing else is deleted.
    let current = Current {
        provider_id: 3,
        rows: Vec::new(),
        zones: HashMap::new(),
        projects: HashMap::from([
            ("proj-edu".to_owned(), 11),
            ("shop".to_owned(), 12),
            ("default".to_owned(), 11),
            ("secondary".to_owned(), 12),
        ]),
    };
    let plan = sync::plan(
        &current,
        Mode::Full,
        &translated.objects,
        &translated.coverage(),
    )
    .expect("plan");
    assert_eq!(plan.creates.len(), translated.objects.len());
    assert!(translated
        .coverage()
        .kinds
        .iter()
        .all(|kind| matches!(kind, Kind::ContainerWorkload | Kind::NetworkPolicy)));
}
