//! The standard provider API over HTTP (3.2, 7.3.1.4, 7.5.7, 7.5.10.6): a provider's
//! integration pushes signed snapshots in chunks; a commit applies everything or
//! nothing; changes land in the history each tenant reads for itself; unmapped
//! projects are set aside; an unapproved or changed image digest raises an alert.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::access::{member, provider_id};
use super::signed::{make_key, signed_request, Key};
use super::{api, login, send, server, step_up, Answer, Server, PASSWORD};

const SM3_A: &str = "sm3:1111111111111111111111111111111111111111111111111111111111111111";
const SM3_B: &str = "sm3:2222222222222222222222222222222222222222222222222222222222222222";

struct Pusher<'a> {
    s: &'a Server,
    key: Key,
    nonce: std::cell::Cell<u32>,
}

impl Pusher<'_> {
    async fn send(&self, method: Method, path: &str, body: &[u8]) -> Answer {
        self.nonce.set(self.nonce.get() + 1);
        let nonce = format!("push-nonce-{:08}-abcdef", self.nonce.get());
        send(
            &self.s.router,
            signed_request(self.s, &self.key, method, path, body, body, 0, &nonce),
        )
        .await
    }

    async fn open(&self, request_id: &str, mode: &str) -> i64 {
        let body = json!({"request_id": request_id, "mode": mode}).to_string();
        let opened = self
            .send(Method::POST, "/api/v1/provider/snapshots", body.as_bytes())
            .await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
        opened.json()["id"].as_i64().expect("id")
    }

    async fn chunk(&self, sync: i64, seq: i64, objects: Value) -> Answer {
        let body = json!({ "objects": objects }).to_string();
        self.send(
            Method::PUT,
            &format!("/api/v1/provider/snapshots/{sync}/chunks/{seq}"),
            body.as_bytes(),
        )
        .await
    }

    async fn commit(&self, sync: i64, chunks: i64) -> Answer {
        let body = json!({ "chunks": chunks }).to_string();
        self.send(
            Method::POST,
            &format!("/api/v1/provider/snapshots/{sync}/commit"),
            body.as_bytes(),
        )
        .await
    }
}

/// The test server's provider with an operator `username` and its signing key, and its
/// `projects` mapped to tenants by the system administrator (left stepped up).
async fn pushing<'a>(s: &'a Server, username: &str, projects: &[(&str, i64)]) -> (i64, Pusher<'a>) {
    let provider = provider_id(s).await;
    let operator = member(
        s,
        username,
        "provider_operator",
        json!({"provider_id": provider}),
    )
    .await;
    step_up(&s.door, username, &operator).await;
    let pusher = Pusher {
        s,
        key: make_key(s, &operator).await,
        nonce: Default::default(),
    };
    step_up(&s.door, "sysadmin", &s.admin_token).await;
    for (project, tenant) in projects {
        let mapped = send(
            &s.router,
            api(
                Method::POST,
                "/api/v1/provider/projects",
                Some(&s.admin_token),
                Some(json!({"provider_id": provider, "project": project, "tenant_id": tenant})),
            ),
        )
        .await;
        assert_eq!(mapped.status, StatusCode::OK, "{}", mapped.text);
    }
    (provider, pusher)
}

fn inventory(memory_mib: i64, with_volume: bool, digest: &str) -> (Value, Value) {
    let mut first = vec![
        json!({"kind": "datacenter", "id": "dc-1", "fields": {"name": "两江数据中心", "address": "重庆市渝北区", "latitude": 29.72, "longitude": 106.63, "datum": "cgcs2000"}}),
        json!({"kind": "host", "id": "host-1", "fields": {"name": "cn-01", "datacenter_id": "dc-1", "zone_id": "政务外网区", "cpu_cores": 64}}),
        json!({"kind": "image", "id": "img-1", "fields": {"name": "KylinV10", "os": "Kylin V10", "visibility": "public", "digest": digest}}),
        json!({"kind": "vpc", "id": "net-1", "project": "proj-a", "fields": {"name": "edu-vpc", "zone_id": "政务外网区", "cidrs": ["10.8.0.0/16"]}}),
        json!({"kind": "subnet", "id": "sub-1", "fields": {"name": "app", "vpc_id": "net-1", "cidr": "10.8.1.0/24"}}),
        json!({"kind": "vm", "id": "srv-1", "fields": {"name": "web-1", "vpc_id": "net-1", "subnet_id": "sub-1", "host_id": "host-1", "image_id": "img-1", "vcpus": 4, "memory_mib": memory_mib, "status": "running", "ip_addresses": ["10.8.1.10"]}}),
    ];
    // A container of the provider's container platform, running an image nobody approved.
    first.push(json!({"kind": "container_workload", "id": "pod-1", "project": "proj-a", "fields": {
        "cluster": "cq-k8s", "namespace": "edu", "name": "api-0", "images": ["nginx:1.25"],
        "image_digests": ["sha256:3333333333333333333333333333333333333333333333333333333333333333"]}}));
    if with_volume {
        first.push(json!({"kind": "volume", "id": "vol-1", "project": "proj-a", "fields": {"name": "data", "vm_id": "srv-1", "size_gib": 100, "encrypted": true}}));
    }
    let second = json!([
        {"kind": "security_group", "id": "sg-1", "fields": {"name": "web", "vpc_id": "net-1"}},
        {"kind": "security_group_rule", "id": "rule-1", "fields": {"security_group_id": "sg-1", "direction": "ingress", "priority": 1, "action": "allow", "protocol": "tcp", "port_from": 443, "port_to": 443, "remote_cidr": "0.0.0.0/0"}},
        {"kind": "vpc", "id": "net-x", "project": "proj-unknown", "fields": {"name": "stray", "zone_id": "政务外网区", "cidrs": ["10.9.0.0/16"]}},
        {"kind": "subnet", "id": "sub-x", "fields": {"name": "stray", "vpc_id": "net-x", "cidr": "10.9.1.0/24"}},
    ]);
    (Value::Array(first), second)
}

async fn count(s: &Server, path: &str, token: &str) -> i64 {
    let answer = send(&s.router, api(Method::GET, path, Some(token), None)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["total"].as_i64().expect("total")
}

async fn changes(s: &Server, token: &str, query: &str) -> Vec<Value> {
    let answer = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/provider/changes?{query}"),
            Some(token),
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["changes"]
        .as_array()
        .expect("changes")
        .clone()
}

#[tokio::test]
async fn a_provider_pushes_signed_chunked_snapshots_applied_whole_with_history_and_alerts() {
    let s = server().await;
    // The management unit maps the provider's project to the first tenant.
    let (provider, pusher) = pushing(&s, "push-op", &[("proj-a", s.tenants[0])]).await;
    let vms_before = count(&s, "/api/v1/vms", &s.admin_token).await;

    // A chunk with a bad object is refused whole, naming the object and the field.
    let sync = pusher.open("sync-1", "full").await;
    let (first, second) = inventory(8192, true, SM3_A);
    let mut broken = first.clone();
    broken[5]["fields"]["vcpus"] = json!(0);
    broken[3]["fields"]["tenant_id"] = json!(1);
    let refused = pusher.chunk(sync, 1, broken).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.code(), "batch_refused");
    let problems = refused.json()["error"]["problems"].clone();
    assert!(
        problems
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["index"] == 5 && p["field"] == "vcpus"),
        "{problems}"
    );
    assert!(
        problems
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["index"] == 3 && p["code"] == "not_pushed"),
        "{problems}"
    );
    // Chunk 1 staged; committing without chunk 2 applies nothing and names it.
    let staged = pusher.chunk(sync, 1, first.clone()).await;
    assert_eq!(staged.status, StatusCode::OK, "{}", staged.text);
    let early = pusher.commit(sync, 2).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
    assert!(early.text.contains("[2]"), "{}", early.text);
    assert_eq!(count(&s, "/api/v1/vms", &s.admin_token).await, vms_before);
    // The same chunk again is harmless; other content under its number is not.
    assert_eq!(
        pusher.chunk(sync, 1, first.clone()).await.status,
        StatusCode::OK
    );
    let (other, _) = inventory(4096, true, SM3_A);
    assert_eq!(
        pusher.chunk(sync, 1, other).await.status,
        StatusCode::CONFLICT
    );
    // Resumed: the status says what is staged.
    let status = pusher
        .send(
            Method::GET,
            &format!("/api/v1/provider/snapshots/{sync}"),
            b"",
        )
        .await;
    assert_eq!(status.json()["chunks"].as_array().expect("chunks").len(), 1);
    assert_eq!(
        pusher.chunk(sync, 2, second.clone()).await.status,
        StatusCode::OK
    );
    let committed = pusher.commit(sync, 2).await;
    assert_eq!(committed.status, StatusCode::OK, "{}", committed.text);
    let summary = committed.json();
    assert_eq!(summary["state"], "committed");
    assert_eq!(summary["created"], 10, "{summary}");
    assert_eq!(summary["unassigned"], 2, "{summary}");
    assert_eq!(
        summary["image_alerts"], 2,
        "an unregistered image and a container's: {summary}"
    );
    // A retried commit answers the same.
    assert_eq!(pusher.commit(sync, 2).await.json()["created"], 10);
    assert_eq!(
        count(&s, "/api/v1/vms", &s.admin_token).await,
        vms_before + 1
    );

    // The set-aside VPC and its subnet are listed, not dropped.
    let unassigned = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/unassigned",
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    let listed = unassigned.json()["objects"].clone();
    assert_eq!(listed.as_array().expect("objects").len(), 2, "{listed}");
    assert!(listed.to_string().contains("proj-unknown"));

    // The tenant sees its own new resources in the history; the other tenant nothing.
    let tenant1 = login(&s.door, "tenant1", PASSWORD).await;
    let tenant2 = login(&s.door, "tenant2", PASSWORD).await;
    let own = changes(&s, &tenant1, "limit=50").await;
    assert!(
        own.iter()
            .any(|c| c["kind"] == "vm" && c["change"] == "created"),
        "{own:?}"
    );
    assert!(own.iter().all(|c| c["tenant_id"] == s.tenants[0]));
    assert!(changes(&s, &tenant2, "limit=50").await.is_empty());
    // The console's provider pages show a tenant only what is its own.
    for path in ["/console/providers/sync", "/console/providers/changes"] {
        let page = super::console_get(&s.router, path, &tenant2).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.text.contains("市教委"), "{path} shows another tenant");
        assert!(
            !page.text.contains("edu-vpc"),
            "{path} shows another tenant's VPC"
        );
    }

    // Second snapshot: the VM resized, the volume gone, the image's digest changed.
    step_up(&s.door, "sysadmin", &s.admin_token).await;
    let approved = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/provider/images",
            Some(&s.admin_token),
            Some(json!({"name": "KylinV10", "provider_id": provider, "provider_digest": SM3_A})),
        ),
    )
    .await;
    assert_eq!(approved.status, StatusCode::CREATED, "{}", approved.text);
    let sync2 = pusher.open("sync-2", "full").await;
    let (first, second) = inventory(16384, false, SM3_B);
    assert_eq!(pusher.chunk(sync2, 1, first).await.status, StatusCode::OK);
    assert_eq!(pusher.chunk(sync2, 2, second).await.status, StatusCode::OK);
    let committed = pusher.commit(sync2, 2).await.json();
    assert_eq!(
        (
            committed["created"].clone(),
            committed["changed"].clone(),
            committed["deleted"].clone()
        ),
        (json!(0), json!(2), json!(1)),
        "{committed}"
    );
    assert_eq!(committed["image_alerts"], 1, "{committed}");
    let history = changes(&s, &s.admin_token, &format!("sync_id={sync2}")).await;
    let resized = history
        .iter()
        .find(|c| c["kind"] == "vm")
        .expect("vm change");
    assert_eq!(
        resized["detail"]["memory_mib"],
        json!({"from": 8192, "to": 16384})
    );
    assert!(history
        .iter()
        .any(|c| c["kind"] == "volume" && c["change"] == "deleted"));
    let events = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/security-events",
            Some(&s.auditor_token),
            None,
        ),
    )
    .await;
    assert!(
        events.text.contains("image.digest_changed"),
        "{}",
        events.text
    );
    assert!(
        events.text.contains("container.image_unapproved"),
        "{}",
        events.text
    );

    // Nobody else pushes: a tenant is refused, and the refusal is audited.
    let tenant_push = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/provider/snapshots",
            Some(&tenant1),
            Some(json!({"request_id": "t", "mode": "full"})),
        ),
    )
    .await;
    assert_eq!(
        tenant_push.status,
        StatusCode::FORBIDDEN,
        "{}",
        tenant_push.text
    );
    let denied = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?action=provider.push&limit=5",
            Some(&s.auditor_token),
            None,
        ),
    )
    .await;
    assert!(denied.text.contains("denied"), "{}", denied.text);
    // A replayed chunk request is refused by the signature check.
    let body = json!({"objects": []}).to_string();
    let path = format!("/api/v1/provider/snapshots/{sync2}/chunks/3");
    let replayed = signed_request(
        &s,
        &pusher.key,
        Method::PUT,
        &path,
        body.as_bytes(),
        body.as_bytes(),
        0,
        "replay-nonce-0000001",
    );
    let replayed_again = signed_request(
        &s,
        &pusher.key,
        Method::PUT,
        &path,
        body.as_bytes(),
        body.as_bytes(),
        0,
        "replay-nonce-0000001",
    );
    let _ = send(&s.router, replayed).await;
    assert_eq!(
        send(&s.router, replayed_again).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Answers every connection with a page that is not an OpenStack answer.
async fn garbage_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body = "<html>502 Bad Gateway</html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

fn openstack_connector(provider: i64, endpoint: &str) -> Value {
    json!({
        "provider_id": provider, "kind": "openstack", "endpoint": endpoint, "interval_s": 300,
        "secret": "reader-password",
        "settings": {
            "username": "reader", "project": "admin", "zone": "政务外网区", "datacenter_id": "dc-1",
            "datacenters": {"dc-1": {"name": "两江数据中心", "address": "重庆市渝北区", "latitude": 29.72,
                                     "longitude": 106.63, "datum": "cgcs2000"}},
        },
    })
}

#[tokio::test]
async fn a_broken_provider_endpoint_is_recorded_backed_off_and_alerted_while_others_go_on() {
    let s = server().await;
    let provider = provider_id(&s).await;
    step_up(&s.door, "sysadmin", &s.admin_token).await;
    let post = |path: &str, body: Value| api(Method::POST, path, Some(&s.admin_token), Some(body));
    // Settings are checked when stored, and the secret never comes back.
    let mut incomplete = openstack_connector(provider, "http://127.0.0.1:9/identity/v3");
    incomplete["settings"]["datacenters"] = json!({});
    let refused = send(&s.router, post("/api/v1/provider/connectors", incomplete)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let garbage = garbage_server().await;
    let mut ids = Vec::new();
    for endpoint in [
        format!("{garbage}/identity/v3"),
        "http://127.0.0.1:9/identity/v3".to_owned(),
    ] {
        let created = send(
            &s.router,
            post(
                "/api/v1/provider/connectors",
                openstack_connector(provider, &endpoint),
            ),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        ids.push(created.json()["id"].as_i64().expect("id"));
    }
    let listed = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/connectors",
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    assert!(!listed.text.contains("reader-password"), "{}", listed.text);
    assert!(listed.text.contains("<sealed>"));

    // Both pulls fail, each with its own clear reason, and nothing is applied.
    let outcomes = s.app.run_due_connectors().await.expect("run");
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        let error = outcome.result.as_ref().expect_err("a failure");
        if outcome.connector == ids[0] {
            assert!(
                error.contains("X-Subject-Token") || error.contains("not readable"),
                "{error}"
            );
        } else {
            assert!(error.contains("unreachable"), "{error}");
        }
    }
    let health = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/health",
            Some(&s.admin_token),
            None,
        ),
    )
    .await
    .json();
    let records = health["connectors"].as_array().expect("connectors").clone();
    assert_eq!(records.len(), 2, "{health}");
    for record in &records {
        assert_eq!(record["failures"], 1);
        assert!(record["last_error"]
            .as_str()
            .is_some_and(|error| !error.is_empty()));
        assert!(
            record["next_attempt_at"].as_str().is_some(),
            "backed off: {record}"
        );
    }
    // Backed off: not due again at once.
    assert!(s.app.run_due_connectors().await.expect("run").is_empty());
    // Meanwhile the provider's own pushes are unaffected (the first test pushes; here
    // the history stays empty because nothing was applied).
    let history = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/changes",
            Some(&s.admin_token),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(history["changes"], json!([]));
    // Never a success: stale at once; one alert per connector and day.
    assert_eq!(s.app.alert_stale_providers().await.expect("stale"), 2);
    assert_eq!(s.app.alert_stale_providers().await.expect("stale"), 0);
    let events = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/security-events",
            Some(&s.auditor_token),
            None,
        ),
    )
    .await;
    assert!(events.text.contains("provider.stale"), "{}", events.text);
    // Nobody but the management unit and the system administrator configures them.
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let denied = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/provider/connectors",
            Some(&tenant),
            Some(openstack_connector(provider, "http://127.0.0.1:9/")),
        ),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);
}

/// A Prometheus that answers one instant vector per query.
async fn prometheus_server() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new().route(
        "/api/v1/query",
        get(|| async {
            axum::Json(
                json!({"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"project": "proj-a"}, "value": [1790000000.0, "37.5"]},
                    {"metric": {"project": "proj-unmapped"}, "value": [1790000000.0, "12"]},
                    {"metric": {"project": "proj-a"}, "value": [1790000000.0, "NaN"]},
                ]}}),
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

#[tokio::test]
async fn a_prometheus_connector_stores_utilization_per_tenant() {
    let s = server().await;
    let provider = provider_id(&s).await;
    step_up(&s.door, "sysadmin", &s.admin_token).await;
    let post = |path: &str, body: Value| api(Method::POST, path, Some(&s.admin_token), Some(body));
    let mapped = send(
        &s.router,
        post(
            "/api/v1/provider/projects",
            json!({"provider_id": provider, "project": "proj-a", "tenant_id": s.tenants[0]}),
        ),
    )
    .await;
    assert_eq!(mapped.status, StatusCode::OK, "{}", mapped.text);
    // Settings are checked: an unknown metric is refused.
    let bad = send(&s.router, post("/api/v1/provider/connectors", json!({"provider_id": provider, "kind": "prometheus",
        "endpoint": "http://127.0.0.1:9", "interval_s": 300, "settings": {"queries": {"made_up": "up"}}}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let endpoint = prometheus_server().await;
    let created = send(&s.router, post("/api/v1/provider/connectors", json!({"provider_id": provider, "kind": "prometheus",
        "endpoint": endpoint, "interval_s": 300,
        "settings": {"project_label": "project", "queries": {"cpu_utilization": "avg by (project) (rate(cpu[5m]))"}}}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json()["id"].as_i64().expect("id");
    let ran = send(
        &s.router,
        post(&format!("/api/v1/provider/connectors/{id}/run"), json!({})),
    )
    .await;
    assert_eq!(ran.json()["ok"], true, "{}", ran.text);
    // Two finite samples (NaN skipped): the mapped project's for its tenant, the other
    // for the provider as a whole; the tenant sees its own.
    let usage = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/usage?metric=cpu_utilization&since=2020-01-01",
            Some(&s.admin_token),
            None,
        ),
    )
    .await
    .json();
    let samples = usage["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 2, "{usage}");
    assert!(samples
        .iter()
        .any(|sample| sample["tenant_id"] == s.tenants[0] && sample["value"] == 37.5));
    assert!(samples
        .iter()
        .any(|sample| sample["tenant_id"].is_null() && sample["value"] == 12.0));
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let own = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/provider/usage?metric=cpu_utilization&since=2020-01-01",
            Some(&tenant),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(
        own["samples"].as_array().expect("samples").len(),
        1,
        "{own}"
    );
}

async fn findings(s: &Server, token: &str, invariant: &str) -> Vec<Value> {
    let answer = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/network/findings?invariant={invariant}"),
            Some(token),
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["findings"]
        .as_array()
        .expect("findings")
        .clone()
}

/// Two tenants' VPCs, each with a group and a VM in it, peered with routes both ways;
/// pods of both tenants in one cluster. `a_groups`: the groups vm-a lists.
fn network_inventory(a_groups: &[&str]) -> Value {
    json!([
        {"kind": "vpc", "id": "net-a", "project": "proj-a", "fields": {"name": "a-vpc", "zone_id": "政务外网区", "cidrs": ["10.20.0.0/16"]}},
        {"kind": "subnet", "id": "sub-a", "fields": {"name": "a", "vpc_id": "net-a", "cidr": "10.20.1.0/24"}},
        {"kind": "vpc", "id": "net-b", "project": "proj-b", "fields": {"name": "b-vpc", "zone_id": "政务外网区", "cidrs": ["10.21.0.0/16"]}},
        {"kind": "subnet", "id": "sub-b", "fields": {"name": "b", "vpc_id": "net-b", "cidr": "10.21.1.0/24"}},
        {"kind": "security_group", "id": "sg-a", "fields": {"name": "ssh-from-b", "vpc_id": "net-a"}},
        {"kind": "security_group_rule", "id": "sg-a-ssh", "fields": {"security_group_id": "sg-a", "direction": "ingress",
         "priority": 1, "action": "allow", "protocol": "tcp", "port_from": 22, "port_to": 22, "remote_cidr": "10.21.0.0/16"}},
        {"kind": "security_group", "id": "sg-b", "fields": {"name": "closed", "vpc_id": "net-b"}},
        {"kind": "vm", "id": "vm-a", "fields": {"name": "a-1", "vpc_id": "net-a", "subnet_id": "sub-a", "vcpus": 2,
         "memory_mib": 2048, "status": "running", "ip_addresses": ["10.20.1.5"], "security_group_ids": a_groups}},
        {"kind": "vm", "id": "vm-b", "fields": {"name": "b-1", "vpc_id": "net-b", "subnet_id": "sub-b", "vcpus": 2,
         "memory_mib": 2048, "status": "running", "ip_addresses": ["10.21.1.5"], "security_group_ids": ["sg-b"]}},
        {"kind": "vpc_peering", "id": "pcx-1", "fields": {"name": "a-b", "vpc_id": "net-a", "peer_vpc_id": "net-b"}},
        {"kind": "route", "id": "rt-a", "fields": {"vpc_id": "net-a", "destination": "10.21.0.0/16", "next_hop": "peering", "peering_id": "pcx-1"}},
        {"kind": "route", "id": "rt-b", "fields": {"vpc_id": "net-b", "destination": "10.20.0.0/16", "next_hop": "peering", "peering_id": "pcx-1"}},
        {"kind": "container_workload", "id": "pod-a", "project": "proj-a", "fields": {"cluster": "cq-k8s", "namespace": "edu",
         "name": "api-0", "labels": ["app=api"], "namespace_labels": ["team=edu"], "ip_addresses": ["10.244.1.5"]}},
        {"kind": "container_workload", "id": "pod-b", "project": "proj-b", "fields": {"cluster": "cq-k8s", "namespace": "civil",
         "name": "web-0", "labels": ["app=web"], "ip_addresses": ["10.244.2.5"]}},
    ])
}

/// A provider reports its network through the standard API — a VM's groups as a list
/// reference, a peering with its routes, pods with labels — and verification sees it:
/// the peering opens SSH from the other tenant; dropping the VM's group closes it; a
/// NetworkPolicy segments one tenant's pods from the other's.
#[tokio::test]
async fn a_providers_network_objects_and_vm_groups_feed_isolation_verification() {
    let s = server().await;
    let (provider, pusher) = pushing(
        &s,
        "net-op",
        &[("proj-a", s.tenants[0]), ("proj-b", s.tenants[1])],
    )
    .await;
    let sync = pusher.open("net-1", "full").await;
    assert_eq!(
        pusher
            .chunk(sync, 1, network_inventory(&["sg-a"]))
            .await
            .status,
        StatusCode::OK
    );
    let committed = pusher.commit(sync, 1).await;
    assert_eq!(committed.status, StatusCode::OK, "{}", committed.text);
    assert_eq!(committed.json()["created"], 14, "{}", committed.text);

    // The VM's group list was written: the world shows it by our ids.
    let vms = send(
        &s.router,
        api(Method::GET, "/api/v1/vms?q=a-1", Some(&s.admin_token), None),
    )
    .await
    .json();
    let vm = vms["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|vm| vm["name"] == "a-1")
        .cloned()
        .unwrap_or_else(|| panic!("{vms}"));
    let groups = vm["security_group_ids"].as_array().expect("groups").clone();
    assert_eq!(groups.len(), 1, "{vm}");

    let admin = &s.admin_token;
    let paths = findings(&s, admin, "cross_tenant_path").await;
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert_eq!(paths[0]["ports_text"], "tcp/22");
    let pods = findings(&s, admin, "container_cross_tenant").await;
    assert_eq!(pods.len(), 2, "both ways: {pods:?}");
    assert_eq!(findings(&s, admin, "container_unsegmented").await.len(), 2);

    // The VM leaves its group (incremental): the path closes.
    let sync = pusher.open("net-2", "incremental").await;
    let inventory = network_inventory(&[]);
    let vm_a = inventory[7].clone();
    assert_eq!(
        pusher.chunk(sync, 1, json!([vm_a])).await.status,
        StatusCode::OK
    );
    let committed = pusher.commit(sync, 1).await;
    assert_eq!(committed.json()["changed"], 1, "{}", committed.text);
    assert!(findings(&s, admin, "cross_tenant_path").await.is_empty());

    // Tenant b's namespace admits only its own pods (recipe 04): a no longer reaches
    // b; b still reaches a, whose namespace no policy segments.
    let sync = pusher.open("net-3", "incremental").await;
    let policy = json!([{"kind": "network_policy", "id": "np-1", "project": "proj-b", "fields": {
        "cluster": "cq-k8s", "namespace": "civil", "name": "deny-from-other-namespaces",
        "spec": json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}).to_string()}}]);
    assert_eq!(pusher.chunk(sync, 1, policy).await.status, StatusCode::OK);
    assert_eq!(pusher.commit(sync, 1).await.status, StatusCode::OK);
    let pods = findings(&s, admin, "container_cross_tenant").await;
    assert_eq!(pods.len(), 1, "{pods:?}");
    assert_eq!(pods[0]["subject"]["kind"], "pods");
    let unsegmented = findings(&s, admin, "container_unsegmented").await;
    assert_eq!(unsegmented.len(), 1);
    assert_eq!(unsegmented[0]["subject"]["namespace"], "edu");
    // Each tenant sees the container finding that concerns it; the title names pods.
    let tenant2 = login(&s.door, "tenant2", PASSWORD).await;
    let seen = findings(&s, &tenant2, "container_cross_tenant").await;
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("civil/web-0"),
        "{seen:?}"
    );

    // The compliance engine's container control (5.4.3) fails the provider that runs
    // the cluster: b's pods still reach a's, whose namespace nothing segments.
    step_up(&s.door, "sysadmin", &s.admin_token).await;
    let run = send(
        &s.router,
        api(Method::POST, "/api/v1/compliance/runs", Some(admin), None),
    )
    .await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.text);
    let run_id = run.json()["id"].as_i64().expect("run");
    let results = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/compliance/runs/{run_id}/results?limit=10000"),
            Some(admin),
            None,
        ),
    )
    .await
    .json();
    let container: Vec<(String, i64, String)> = results["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|row| {
            row["clause"] == "5.4.3" && row.to_string().contains("container segmentation checks")
        })
        .map(|row| {
            (
                row["scope_kind"].as_str().unwrap_or_default().to_owned(),
                row["scope_id"].as_i64().unwrap_or_default(),
                row["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // 5.4.3 is the platform's capability: the catalog holds the provider to it.
    assert_eq!(
        container,
        [("provider".to_owned(), provider, "FAIL".to_owned())]
    );

    // Another VPC's group: refused at the commit, nothing applied.
    let sync = pusher.open("net-4", "incremental").await;
    let wrong = json!([network_inventory(&["sg-b"])[7].clone()]);
    let refused = pusher.chunk(sync, 1, wrong).await;
    let refused = if refused.status == StatusCode::OK {
        pusher.commit(sync, 1).await
    } else {
        refused
    };
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("reference_mismatch"),
        "{}",
        refused.text
    );
}
