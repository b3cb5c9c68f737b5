//! The OpenStack adapter against a local HTTP server that replays the projects' own
//! api-ref samples (`../shared/fixtures/openstack`): sign-in, the catalog, every list,
//! then the translation into the standard API's objects and a plan against an empty
//! store. Faults: a hanging endpoint times out, garbage fails the pull (not the
//! process), a bad object is that object's problem.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use yunjian_connectors::fetch::{self, AdapterError, Limits, OpenStackCredentials};
use yunjian_connectors::sync::{self, Current, Mode};
use yunjian_connectors::translate::{self, Placement};
use yunjian_core::schema::Kind;

use super::fixture;

/// What each service path answers: a fixture, garbage, or nothing (hang).
#[derive(Clone)]
enum Answer {
    Fixture(&'static str),
    Body(&'static str),
    Hang,
}

struct Cloud {
    base: String,
    answers: HashMap<&'static str, Answer>,
}

fn answers() -> HashMap<&'static str, Answer> {
    HashMap::from([
        ("compute/os-hypervisors/detail", Answer::Fixture("nova/doc/api_samples/os-hypervisors/v2.88/hypervisors-with-servers-resp.json")),
        ("compute/servers/detail", Answer::Fixture("nova/doc/api_samples/servers/v2.100/servers-details-resp.json")),
        ("network/v2.0/networks", Answer::Fixture("neutron/api-ref/source/v2/samples/networks/networks-list-response.json")),
        ("network/v2.0/subnets", Answer::Fixture("neutron/api-ref/source/v2/samples/subnets/subnets-list-response.json")),
        ("network/v2.0/ports", Answer::Fixture("neutron/api-ref/source/v2/samples/ports/ports-list-response.json")),
        ("network/v2.0/security-groups", Answer::Fixture("neutron/api-ref/source/v2/samples/security-groups/security-groups-list-response.json")),
        ("network/v2.0/security-group-rules", Answer::Fixture("neutron/api-ref/source/v2/samples/security-groups/security-group-rules-list-response.json")),
        ("volume/volumes/detail", Answer::Fixture("cinder/api-ref/source/v3/samples/volumes/v3.61/volumes-list-detailed-response.json")),
        ("volume/snapshots/detail", Answer::Fixture("cinder/api-ref/source/v3/samples/snapshots/snapshots-list-detailed-response.json")),
        ("volume/backups/detail", Answer::Fixture("cinder/api-ref/source/v3/samples/backups/backups-list-detailed-response.json")),
        ("image/v2/images", Answer::Fixture("glance/api-ref/source/v2/samples/images-list-response.json")),
        ("compute/os-availability-zone/detail", Answer::Fixture("nova/doc/api_samples/os-availability-zone/availability-zone-detail-resp.json")),
        ("network/v2.0/routers", Answer::Fixture("neutron/api-ref/source/v2/samples/routers/routers-list-response.json")),
        ("network/v2.0/fwaas/firewall_groups", Answer::Fixture("neutron/api-ref/source/v2/samples/firewall-v2/firewall-groups-list-response.json")),
        ("network/v2.0/fwaas/firewall_policies", Answer::Fixture("neutron/api-ref/source/v2/samples/firewall-v2/firewall-policies-list-response.json")),
        ("network/v2.0/fwaas/firewall_rules", Answer::Fixture("neutron/api-ref/source/v2/samples/firewall-v2/firewall-rules-list-response.json")),
    ])
}

async fn token(State(cloud): State<Arc<Cloud>>, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).expect("json");
    if request["auth"]["identity"]["password"]["user"]["password"] != "s3cret-password" {
        return (StatusCode::UNAUTHORIZED, "{}").into_response();
    }
    let mut answer: Value = serde_json::from_slice(&fixture(
        "keystone/api-ref/source/v3/samples/admin/auth-token-scoped-response.json",
    ))
    .expect("sample");
    // The sample's catalog points at example hosts; this cloud's points at itself.
    for service in answer["token"]["catalog"].as_array_mut().expect("catalog") {
        let kind = service["type"].as_str().unwrap_or_default().to_owned();
        for endpoint in service["endpoints"].as_array_mut().expect("endpoints") {
            endpoint["url"] = json!(format!("{}/{kind}", cloud.base));
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-subject-token",
        "gAAAAAB-test-token".parse().expect("header"),
    );
    (StatusCode::CREATED, headers, answer.to_string()).into_response()
}

async fn serve(
    State(cloud): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    if headers
        .get("x-auth-token")
        .and_then(|value| value.to_str().ok())
        != Some("gAAAAAB-test-token")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match cloud.answers.get(path.as_str()) {
        Some(Answer::Fixture(file)) => fixture(file).into_response(),
        Some(Answer::Body(text)) => text.to_string().into_response(),
        Some(Answer::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn cloud(answers: HashMap<&'static str, Answer>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    let base = format!("http://{address}");
    let state = Arc::new(Cloud {
        base: base.clone(),
        answers,
    });
    let router = Router::new()
        .route("/identity/v3/auth/tokens", post(token))
        .route("/{*path}", get(serve))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn credentials(base: &str, password: &str) -> OpenStackCredentials {
    OpenStackCredentials {
        auth_url: format!("{base}/identity/v3"),
        username: "yunjian-reader".into(),
        password: password.into(),
        user_domain: "Default".into(),
        project: "admin".into(),
        project_domain: "Default".into(),
        region: None,
        interface: "public".into(),
    }
}

fn placement() -> Placement {
    Placement {
        zone: "政务外网区".into(),
        datacenter_id: "dc-liangjiang".into(),
        datacenters: vec![(
            "dc-liangjiang".into(),
            serde_json::from_value(json!({
                "name": "两江数据中心", "address": "重庆市渝北区", "latitude": 29.72, "longitude": 106.63, "datum": "cgcs2000",
            }))
            .expect("map"),
        )],
        availability_zones: Default::default(),
        backup_kind: "local".into(),
    }
}

#[tokio::test]
async fn the_openstack_samples_import_through_the_standard_api() {
    let base = cloud(answers()).await;
    let limits = Limits::default();
    let client = fetch::client(&limits).expect("client");
    let observed = fetch::pull_openstack(&client, &credentials(&base, "s3cret-password"), &limits)
        .await
        .expect("pull");
    // The router and FWaaS extensions answered: their lists are the cloud's word.
    assert_eq!(
        observed.extensions.iter().copied().collect::<Vec<_>>(),
        ["fwaas", "routers"]
    );
    assert_eq!(
        observed
            .of_kind(yunjian_connectors::ObservedKind::Router)
            .count(),
        2
    );
    let translated = translate::openstack(&observed, &placement());
    assert!(
        translated.kinds.contains(&Kind::Route) && translated.kinds.contains(&Kind::FirewallRule)
    );
    let count = |kind: Kind| {
        translated
            .objects
            .iter()
            .filter(|object| object.kind == kind)
            .count()
    };
    // The two tenant networks with their subnets; the hypervisor; the images with
    // their SHA-512; the security groups (on their project's network) and rules.
    assert_eq!(count(Kind::Vpc), 2, "{:?}", translated.problems);
    assert_eq!(count(Kind::Subnet), 2);
    assert_eq!(count(Kind::Host), 1);
    assert_eq!(count(Kind::Image), 2);
    assert!(translated
        .objects
        .iter()
        .filter(|o| o.kind == Kind::Image)
        .all(|image| {
            image.values["digest"]
                .as_text()
                .is_some_and(|digest| digest.starts_with("sha512:"))
        }));
    // The samples are not one cloud: the server's project has no network, so it is
    // left out with a reason, never silently.
    let server = translated
        .problems
        .iter()
        .find(|problem| {
            problem.external_id.as_deref() == Some("f5dc173b-6804-445a-a6d8-c705dad5b5eb")
        })
        .expect("the server's problem");
    assert!(server.reason.contains("subnet"), "{server:?}");
    assert!(translated
        .unreadable
        .contains(&(Kind::Vm, "f5dc173b-6804-445a-a6d8-c705dad5b5eb".to_owned())));
    // Planned against an empty store with one project mapped: that project's VPC is
    // created, the other set aside, nothing refused.
    let current = Current {
        provider_id: 7,
        rows: Vec::new(),
        zones: HashMap::from([("政务外网区".to_owned(), 3)]),
        projects: HashMap::from([("4fd44f30292945e481c7b8a0c8908869".to_owned(), 11)]),
    };
    let plan = sync::plan(
        &current,
        Mode::Full,
        &translated.objects,
        &translated.coverage(),
    )
    .unwrap_or_else(|problems| panic!("{problems:?}"));
    let created_vpcs: Vec<_> = plan
        .creates
        .iter()
        .filter(|create| create.kind == Kind::Vpc)
        .collect();
    assert_eq!(created_vpcs.len(), 1);
    assert_eq!(created_vpcs[0].values["tenant_id"].as_int(), Some(11));
    assert!(plan
        .unassigned
        .iter()
        .any(|object| object.project.as_deref() == Some("26a7980765d0414dbc1fc1f88cdb7e6e")));
}

#[tokio::test]
async fn a_wrong_password_a_hang_and_garbage_fail_the_pull_with_a_clear_error() {
    let base = cloud(answers()).await;
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let client = fetch::client(&limits).expect("client");
    let refused = fetch::pull_openstack(&client, &credentials(&base, "wrong"), &limits).await;
    assert!(
        matches!(refused, Err(AdapterError::Status { status: 401, .. })),
        "{refused:?}"
    );

    let mut hanging = answers();
    hanging.insert("network/v2.0/ports", Answer::Hang);
    let base = cloud(hanging).await;
    let timed_out =
        fetch::pull_openstack(&client, &credentials(&base, "s3cret-password"), &limits).await;
    assert!(
        matches!(timed_out, Err(AdapterError::Timeout { .. })),
        "{timed_out:?}"
    );

    let mut garbage = answers();
    garbage.insert(
        "image/v2/images",
        Answer::Body("<html>502 Bad Gateway</html>"),
    );
    let base = cloud(garbage).await;
    let unreadable =
        fetch::pull_openstack(&client, &credentials(&base, "s3cret-password"), &limits).await;
    match unreadable {
        Err(AdapterError::Body { url, reason }) => {
            assert!(url.ends_with("/image/v2/images"), "{url}");
            assert!(reason.contains("not valid JSON"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A cloud without FWaaS (404) still pulls; only the router extension is its word.
    let mut without = answers();
    without.remove("network/v2.0/fwaas/firewall_policies");
    let base = cloud(without).await;
    let observed = fetch::pull_openstack(&client, &credentials(&base, "s3cret-password"), &limits)
        .await
        .expect("pull without FWaaS");
    assert_eq!(
        observed.extensions.iter().copied().collect::<Vec<_>>(),
        ["routers"]
    );
    assert!(!translate::openstack(&observed, &placement())
        .kinds
        .contains(&Kind::FirewallRule));
    // One malformed image in an otherwise good list: that image's problem only.
    let mut one_bad = answers();
    one_bad.insert(
        "image/v2/images",
        Answer::Body(r#"{"images": [{"id": "good", "name": "ok", "os_hash_algo": "sha512", "os_hash_value": "ab", "visibility": "public"}, {"name": "no id"}]}"#),
    );
    let base = cloud(one_bad).await;
    let observed = fetch::pull_openstack(&client, &credentials(&base, "s3cret-password"), &limits)
        .await
        .expect("pull");
    assert_eq!(
        observed
            .problems
            .iter()
            .filter(|p| p.source == "glance images")
            .count(),
        1
    );
    let translated = translate::openstack(&observed, &placement());
    // "ab" is no SHA-512: the image is refused by the standard API's checks, alone.
    assert!(translated
        .problems
        .iter()
        .any(|p| p.external_id.as_deref() == Some("good") && p.reason.contains("digest")));
    assert!(translated
        .unreadable
        .contains(&(Kind::Image, "good".to_owned())));
    let kinds: HashSet<Kind> = translated
        .objects
        .iter()
        .map(|object| object.kind)
        .collect();
    assert!(kinds.contains(&Kind::Vpc));
}
