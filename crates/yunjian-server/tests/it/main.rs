//! HTTP tests in memory: the router answered through `tower::ServiceExt::oneshot`, on
//! the backend `YUNJIAN_TEST_BACKEND` selects.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use yunjian_app::{App, FixedClock, NewAccountInput, SessionSettings};
use yunjian_core::ids::TenantId;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_server::{router, AppState, HttpSettings};
use yunjian_testkit::{fresh_store, TestStore};

mod access;
mod audit;
mod compliance;
mod events;
mod identity;
mod network;
mod provider;
mod separation;
mod signed;

struct Server {
    router: Router,
    door: Door,
    admin_token: String,
    auditor_token: String,
    /// The security administrator's one-time password from `admin init`.
    secadmin_password: String,
    verifier_key: String,
    tenants: Vec<i64>,
    vpcs: Vec<i64>,
    /// The application behind the router, for what no route starts (the serve loops).
    app: App,
    _store: TestStore,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn api(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
        None => builder.body(Body::empty()).expect("request"),
    }
}

/// How tests log in: the router, the server's clock (TOTP codes are computed at its
/// time and it moves on a step so a code is never replayed) and the TOTP secrets
/// enrolled so far.
struct Door {
    router: Router,
    clock: Arc<FixedClock>,
    secrets: std::sync::Mutex<std::collections::HashMap<String, yunjian_gm::Totp>>,
}

impl Door {
    /// The current code of an account enrolled through this door, after moving the
    /// clock to the next time step.
    fn next_code(&self, username: &str) -> Option<String> {
        let secrets = self.secrets.lock().expect("secrets");
        let totp = secrets.get(username)?;
        self.clock.advance_ns(30 * 1_000_000_000);
        Some(totp.code_at(self.unix_seconds()))
    }

    fn unix_seconds(&self) -> u64 {
        u64::try_from(yunjian_app::Clock::now_ns(&*self.clock) / 1_000_000_000).expect("time")
    }
}

/// Logs in; an account that must change its password first changes it to
/// `STRONG_PASSWORD`, and one whose role needs a second factor enrols TOTP (the session
/// stays valid and counts as stepped up).
async fn login(door: &Door, username: &str, password: &str) -> String {
    let router = &door.router;
    let token = login_only(door, username, password).await;
    let me = send(
        router,
        api(Method::GET, "/api/v1/auth/me", Some(&token), None),
    )
    .await;
    let probe = send(
        router,
        api(Method::GET, "/api/v1/overview", Some(&token), None),
    )
    .await;
    if probe.status == StatusCode::FORBIDDEN && probe.code() == "password_change_required" {
        let changed = send(
            router,
            api(
                Method::POST,
                "/api/v1/auth/password",
                Some(&token),
                Some(json!({"current_password": password, "new_password": STRONG_PASSWORD})),
            ),
        )
        .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    }
    let probe = send(
        router,
        api(Method::GET, "/api/v1/overview", Some(&token), None),
    )
    .await;
    if probe.status == StatusCode::FORBIDDEN && probe.code() == "totp_enrolment_required" {
        enrol_totp(door, username, &token).await;
    }
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    token
}

/// Enrols a TOTP second factor through the API, remembering the secret in the door.
async fn enrol_totp(door: &Door, username: &str, token: &str) {
    let router = &door.router;
    let enrolment = send(
        router,
        api(Method::POST, "/api/v1/auth/totp/enrol", Some(token), None),
    )
    .await;
    assert_eq!(enrolment.status, StatusCode::OK, "{}", enrolment.text);
    let totp = yunjian_gm::Totp::from_base32(enrolment.json()["secret"].as_str().expect("secret"))
        .expect("base32");
    let code = totp.code_at(door.unix_seconds());
    let confirmed = send(
        router,
        api(
            Method::POST,
            "/api/v1/auth/totp/confirm",
            Some(token),
            Some(json!({ "code": code })),
        ),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    door.secrets
        .lock()
        .expect("secrets")
        .insert(username.to_owned(), totp);
}

/// A step-up with the account's next code.
async fn step_up(door: &Door, username: &str, token: &str) {
    let code = door
        .next_code(username)
        .expect("enrolled through this door");
    let answer = send(
        &door.router,
        api(
            Method::POST,
            "/api/v1/auth/step-up",
            Some(token),
            Some(json!({ "code": code })),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

const STRONG_PASSWORD: &str = "Quiet-Harbor#7215-Lantern";

async fn login_only(door: &Door, username: &str, password: &str) -> String {
    let mut body = json!({"username": username, "password": password});
    if let Some(code) = door.next_code(username) {
        body["totp"] = json!(code);
    }
    let answer = send(
        &door.router,
        api(Method::POST, "/api/v1/auth/login", None, Some(body)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["token"].as_str().expect("token").to_owned()
}

const PASSWORD: &str = "correct-horse-battery-staple";

async fn server() -> Server {
    let test = fresh_store().await;
    let clock = Arc::new(FixedClock::new(1_790_000_000_000_000_000));
    let app = App::new(
        test.store.clone(),
        clock.clone(),
        SessionSettings::default(),
    );
    let created = app.initialize_administrators().await.expect("init");
    let sealing = yunjian_gm::SealingKey::generate();
    let verifier_key = app.create_signing_key(&sealing).await.expect("signing key");
    let signer = App::load_signer(app.store(), &sealing)
        .await
        .expect("unseal");
    let app = app
        .with_ledger(yunjian_app::LedgerSettings::default(), signer)
        .with_sealing(sealing);
    let state = AppState::new(
        app.clone(),
        HttpSettings {
            secure_cookies: false,
            max_body_bytes: 64 * 1024,
        },
    );
    let router = router(state);
    let door = Door {
        router: router.clone(),
        clock,
        secrets: Default::default(),
    };
    let admin_token = login(&door, "sysadmin", &created[0].password).await;
    let auditor_token = login(&door, "secauditor", &created[2].password).await;
    let mut tenants = Vec::new();
    let mut vpcs = Vec::new();
    let post = |path: &str, body: Value| api(Method::POST, path, Some(&admin_token), Some(body));
    let zone = send(
        &router,
        post(
            "/api/v1/zones",
            json!({"name": "政务外网区", "zone_kind": "extranet"}),
        ),
    )
    .await
    .json()["id"]
        .clone();
    let provider = send(
        &router,
        post("/api/v1/providers", json!({"name": "服务商甲"})),
    )
    .await
    .json()["id"]
        .clone();
    for (index, name) in ["市教委", "市民政局"].iter().enumerate() {
        let tenant = send(
            &router,
            post(
                "/api/v1/tenants",
                json!({"name": name, "unit_type": "municipal_department"}),
            ),
        )
        .await;
        assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.text);
        let tenant_id = tenant.json()["id"].as_i64().expect("id");
        let vpc = send(
            &router,
            post("/api/v1/vpcs", json!({"tenant_id": tenant_id, "provider_id": provider, "zone_id": zone, "name": "VPC", "cidrs": ["10.0.0.0/16"]})),
        )
        .await;
        assert_eq!(vpc.status, StatusCode::CREATED, "{}", vpc.text);
        tenants.push(tenant_id);
        vpcs.push(vpc.json()["id"].as_i64().expect("id"));
        let admin = yunjian_app::Context {
            principal: yunjian_core::role::Principal {
                account_id: created[0].id,
                username: "sysadmin".into(),
                role: Role::SystemAdmin,
                tenant: None,
                provider: None,
                second_factor: true,
            },
            request_id: "setup".into(),
            source_address: None,
            source_time_ns: None,
            credential: None,
            second_factor_at_ns: Some(app.now_ns()),
        };
        app.create_account(
            &admin,
            NewAccountInput {
                username: format!("tenant{}", index + 1),
                display_name: None,
                password: PASSWORD.into(),
                role: Role::TenantAdmin,
                tenant: Some(TenantId(tenant_id)),
                provider: None,
                person_id: None,
            },
        )
        .await
        .expect("tenant admin");
    }
    Server {
        router,
        door,
        admin_token,
        auditor_token,
        secadmin_password: created[1].password.clone(),
        verifier_key,
        tenants,
        vpcs,
        app,
        _store: test,
    }
}

#[tokio::test]
async fn every_api_route_but_health_metrics_and_login_requires_authentication() {
    let s = server().await;
    let mut paths = vec![
        "/api/v1/auth/me".to_owned(),
        "/api/v1/overview".into(),
        "/api/v1/accounts".into(),
        "/api/v1/audit/records".into(),
        "/api/v1/provider/snapshots/1".into(),
        "/api/v1/provider/syncs".into(),
        "/api/v1/provider/changes".into(),
        "/api/v1/provider/health".into(),
        "/api/v1/provider/usage".into(),
        "/api/v1/provider/usage-report".into(),
        "/api/v1/provider/images".into(),
        "/api/v1/provider/connectors".into(),
        "/api/v1/provider/projects".into(),
        "/api/v1/provider/unassigned".into(),
        "/api/v1/events".into(),
        "/api/v1/events/1".into(),
        "/api/v1/events/overview".into(),
        "/api/v1/alerts".into(),
        "/api/v1/incidents".into(),
        "/api/v1/incidents/1".into(),
        "/api/v1/detection-rules".into(),
        "/api/v1/event-sources".into(),
        "/api/v1/event-settings".into(),
        "/api/v1/notifications".into(),
    ];
    for kind in Kind::ALL {
        paths.push(format!("/api/v1/{}", kind.spec().table));
        paths.push(format!("/api/v1/{}/1", kind.spec().table));
    }
    for path in paths {
        let answer = send(&s.router, api(Method::GET, &path, None, None)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.code(), "unauthenticated", "{path}");
        assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
        assert!(answer.json()["error"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()));
    }
    let forged = send(
        &s.router,
        api(Method::GET, "/api/v1/vpcs", Some(&"0".repeat(64)), None),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    for open in ["/healthz", "/metrics", "/api/openapi.json"] {
        assert_eq!(
            send(&s.router, api(Method::GET, open, None, None))
                .await
                .status,
            StatusCode::OK,
            "{open}"
        );
    }
    // The console cookie does not authenticate the API (no cross-site form can drive it).
    let request = Request::builder()
        .uri("/api/v1/vpcs")
        .header(header::COOKIE, format!("yj_session={}", s.admin_token))
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        send(&s.router, request).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_tenant_administrator_cannot_read_another_tenants_vpc_by_id() {
    let s = server().await;
    let token = login(&s.door, "tenant1", PASSWORD).await;
    let own = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/vpcs/{}", s.vpcs[0]),
            Some(&token),
            None,
        ),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.json()["names"]["tenant_id"], json!("市教委"));
    let other = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/vpcs/{}", s.vpcs[1]),
            Some(&token),
            None,
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.code(), "not_found");
    let listed = send(
        &s.router,
        api(Method::GET, "/api/v1/vpcs", Some(&token), None),
    )
    .await
    .json();
    assert_eq!(listed["total"], json!(1));
    let filtered = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/subnets?tenant_id={}", s.tenants[1]),
            Some(&token),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(filtered["total"], json!(0), "filters never widen the scope");
    let hosts = send(
        &s.router,
        api(Method::GET, "/api/v1/hosts", Some(&token), None),
    )
    .await;
    assert_eq!(hosts.status, StatusCode::FORBIDDEN);
    let audit = send(
        &s.router,
        api(Method::GET, "/api/v1/audit/records", Some(&token), None),
    )
    .await
    .json();
    for item in audit["items"].as_array().expect("items") {
        assert_eq!(
            item["tenant_id"],
            json!(s.tenants[0]),
            "a tenant reads only its slice"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_stable_code_naming_the_field_and_writes_nothing() {
    let s = server().await;
    let token = Some(s.admin_token.as_str());
    let post = |path: &str, body: &str, content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", s.admin_token))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let cases: Vec<(Request<Body>, StatusCode, &str, Option<&str>)> = vec![
        (post("/api/v1/zones", "{\"name\": ", "application/json"), StatusCode::BAD_REQUEST, "malformed_json", None),
        (post("/api/v1/zones", "[1, 2]", "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "expected_object", None),
        (post("/api/v1/zones", "name=x", "application/x-www-form-urlencoded"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None),
        (post("/api/v1/zones", &format!("{{\"name\": \"{}\"}}", "x".repeat(70_000)), "application/json"), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
        (post("/api/v1/zones", r#"{"name": "z", "zone_kind": "internet", "colour": "red"}"#, "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("colour")),
        (post("/api/v1/vpcs", &json!({"tenant_id": s.tenants[0], "provider_id": 1, "zone_id": 1, "name": "v2", "cidrs": ["10.0.0.300/16"]}).to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("cidrs")),
        (post("/api/v1/vpcs", &json!({"tenant_id": s.tenants[0], "provider_id": 1, "zone_id": 1, "name": "v3", "cidrs": ["10.0.0.0/8", "10.2.0.0/16"]}).to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("cidrs")),
        (post("/api/v1/subnets", r#"{"vpc_id": 9999, "name": "s", "cidr": "10.0.1.0/24"}"#, "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("vpc_id")),
        (post("/api/v1/tenants", r#"{"name": "市教委", "unit_type": "district"}"#, "application/json"), StatusCode::CONFLICT, "conflict", Some("name")),
        (post("/api/v1/information_systems", &json!({"tenant_id": s.tenants[0], "name": "s", "classification": "non_classified", "mlps_level": 5, "sensitivity": "internal", "importance": "general", "service_model": "iaas", "deployment_model": "shared"}).to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("mlps_level")),
        (post("/api/v1/information_systems", &json!({"tenant_id": s.tenants[0], "name": "s", "classification": "classified", "mlps_level": 3, "sensitivity": "internal", "importance": "general", "service_model": "iaas", "deployment_model": "shared"}).to_string(), "application/json"), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("classification")),
    ];
    let audit_before = send(&s.router, api(Method::GET, "/api/v1/zones", token, None))
        .await
        .json()["total"]
        .clone();
    for (request, status, code, field) in cases {
        let answer = send(&s.router, request).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{}",
            answer.text
        );
        if let Some(field) = field {
            assert_eq!(
                answer.json()["error"]["fields"][0]["field"],
                json!(field),
                "{}",
                answer.text
            );
        }
    }
    assert_eq!(
        send(&s.router, api(Method::GET, "/api/v1/zones", token, None))
            .await
            .json()["total"],
        audit_before
    );
    assert_eq!(
        send(
            &s.router,
            api(Method::GET, "/api/v1/information_systems", token, None)
        )
        .await
        .json()["total"],
        json!(0)
    );
    let unknown_route = send(
        &s.router,
        api(Method::GET, "/api/v1/nothing/here/at/all", token, None),
    )
    .await;
    assert_eq!(
        (unknown_route.status, unknown_route.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let wrong_method = send(&s.router, api(Method::PUT, "/api/v1/vpcs/1", token, None)).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let bad_query = send(
        &s.router,
        api(Method::GET, "/api/v1/vpcs?colour=red", token, None),
    )
    .await;
    assert_eq!(
        (
            bad_query.status,
            bad_query.json()["error"]["fields"][0]["field"].clone()
        ),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("colour"))
    );
    let bad_id = send(&s.router, api(Method::GET, "/api/v1/vpcs/abc", token, None)).await;
    assert_eq!(bad_id.code(), "invalid_id");
}

#[tokio::test]
async fn crud_through_the_api_with_paging_sorting_and_search() {
    let s = server().await;
    let token = Some(s.admin_token.as_str());
    for index in 0..7 {
        let answer = send(
            &s.router,
            api(Method::POST, "/api/v1/subnets", token, Some(json!({"vpc_id": s.vpcs[0], "name": format!("subnet-{index}"), "cidr": format!("10.0.{index}.0/24")}))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert!(answer.headers.get(header::LOCATION).is_some());
    }
    let page = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/subnets?sort=name&order=desc&per_page=3&page=2",
            token,
            None,
        ),
    )
    .await
    .json();
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        (page["total"].clone(), names),
        (json!(7), vec!["subnet-3", "subnet-2", "subnet-1"])
    );
    let found = send(
        &s.router,
        api(Method::GET, "/api/v1/subnets?q=NET-5", token, None),
    )
    .await
    .json();
    assert_eq!(found["total"], json!(1));
    let id = found["items"][0]["id"].as_i64().expect("id");
    let changed = send(
        &s.router,
        api(
            Method::PATCH,
            &format!("/api/v1/subnets/{id}"),
            token,
            Some(json!({"name": "db"})),
        ),
    )
    .await;
    assert_eq!(
        (changed.status, changed.json()["revision"].clone()),
        (StatusCode::OK, json!(2))
    );
    assert_eq!(
        send(
            &s.router,
            api(
                Method::DELETE,
                &format!("/api/v1/subnets/{id}"),
                token,
                None
            )
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(
            &s.router,
            api(Method::GET, &format!("/api/v1/subnets/{id}"), token, None)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let in_use = send(
        &s.router,
        api(
            Method::DELETE,
            &format!("/api/v1/vpcs/{}", s.vpcs[0]),
            token,
            None,
        ),
    )
    .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    // Every change above is in the audit trail with the actor.
    let auditor = App::new(
        s._store.store.clone(),
        Arc::new(FixedClock::new(0)),
        SessionSettings::default(),
    );
    let records = auditor
        .store()
        .audit_records(&yunjian_store::AuditFilter {
            object_kind: Some("subnet".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("records");
    let actions: Vec<&str> = records
        .iter()
        .map(|record| record.record.action.as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|action| **action == "world.create")
            .count(),
        7
    );
    assert!(actions.contains(&"world.update") && actions.contains(&"world.delete"));
    assert!(records
        .iter()
        .all(|record| record.record.actor_username.as_deref() == Some("sysadmin")));
}

#[tokio::test]
async fn the_openapi_document_covers_every_kind_and_its_references_resolve() {
    let s = server().await;
    let document = send(&s.router, api(Method::GET, "/api/openapi.json", None, None))
        .await
        .json();
    assert_eq!(document["openapi"], json!("3.1.0"));
    for kind in Kind::ALL {
        let table = kind.spec().table;
        assert!(
            document["paths"][format!("/api/v1/{table}")]["post"].is_object(),
            "{table}"
        );
        assert!(
            document["paths"][format!("/api/v1/{table}/{{id}}")]["patch"].is_object(),
            "{table}"
        );
    }
    let text = document.to_string();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().expect("name");
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    // The standard provider API is published with the rest (7.3.1.4).
    for (path, method) in [
        ("/api/v1/provider/snapshots", "post"),
        ("/api/v1/provider/snapshots/{id}/chunks/{seq}", "put"),
        ("/api/v1/provider/snapshots/{id}/commit", "post"),
        ("/api/v1/provider/usage", "post"),
        ("/api/v1/provider/changes", "get"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let required = &document["components"]["schemas"]["VpcCreate"]["required"];
    assert_eq!(
        required,
        &json!(["tenant_id", "provider_id", "zone_id", "name", "cidrs"])
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_not_by_raw_path() {
    let s = server().await;
    for id in [1, 2, 3] {
        send(
            &s.router,
            api(
                Method::GET,
                &format!("/api/v1/vpcs/{id}"),
                Some(&s.admin_token),
                None,
            ),
        )
        .await;
    }
    let text = send(&s.router, api(Method::GET, "/metrics", None, None))
        .await
        .text;
    assert!(text.contains(r#"yunjian_http_requests_total{method="GET",route="/api/v1/{kind}/{id}",status="200"} 2"#), "{text}");
    assert!(
        !text.contains("/api/v1/vpcs/1"),
        "raw paths never become labels"
    );
    assert!(text.contains("yunjian_http_request_duration_seconds_bucket"));
}

fn cookie_from(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            value
                .strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

fn form(path: &str, cookies: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

fn page(path: &str, cookies: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn the_console_logs_in_with_csrf_checks_and_escapes_what_it_shows() {
    let s = server().await;
    let anonymous = send(&s.router, page("/console/vpcs?q=x", "")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.headers[header::LOCATION],
        "/login?next=%2Fconsole%2Fvpcs%3Fq%3Dx"
    );

    let login_page = send(&s.router, page("/login?next=/console/tenants", "")).await;
    let login_csrf = cookie_from(&login_page, "yj_login_csrf").expect("login csrf cookie");
    assert_eq!(hidden_value(&login_page.text, "_csrf"), login_csrf);
    let cookies = format!("yj_login_csrf={login_csrf}");
    let forged = send(
        &s.router,
        form(
            "/login",
            &cookies,
            &format!("_csrf=forged&username=tenant1&password={PASSWORD}"),
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = send(
        &s.router,
        form(
            "/login",
            &cookies,
            &format!("_csrf={login_csrf}&username=tenant1&password=nope"),
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = send(
        &s.router,
        form(
            "/login",
            &cookies,
            &format!(
                "_csrf={login_csrf}&username=sysadmin-x&password=x&next=https://evil.example/"
            ),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::UNAUTHORIZED);
    let ok = send(
        &s.router,
        form(
            "/login",
            &cookies,
            &format!(
                "_csrf={login_csrf}&username=tenant1&password={PASSWORD}&next=//evil.example/"
            ),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.headers[header::LOCATION], "/console", "no open redirect");
    let session = cookie_from(&ok, "yj_session").expect("session cookie");
    let set_cookie = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookies = format!("yj_session={session}");

    // tenant1 was made by an administrator: the first console visit goes to the
    // password page, which changes it (CSRF-checked) and then lets the user in.
    let redirected = send(&s.router, page("/console", &cookies)).await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.headers[header::LOCATION], "/console/password");
    let password_page = send(&s.router, page("/console/password", &cookies)).await;
    assert_eq!(password_page.status, StatusCode::OK);
    let csrf = hidden_value(&password_page.text, "_csrf");
    let encoded = "Quiet-Harbor%237215-Lantern";
    let weak = send(
        &s.router,
        form(
            "/console/password",
            &cookies,
            &format!("_csrf={csrf}&current_password={PASSWORD}&new_password=tenant1tenant1&confirm_password=tenant1tenant1"),
        ),
    )
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.text.contains("username") || weak.text.contains("14"),
        "{}",
        weak.text
    );
    let changed = send(
        &s.router,
        form(
            "/console/password",
            &cookies,
            &format!("_csrf={csrf}&current_password={PASSWORD}&new_password={encoded}&confirm_password={encoded}"),
        ),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert!(changed.text.contains("password-changed"));

    // A tenant administrator must have a second factor: until one is enrolled, the
    // console sends every page to the security page.
    let redirected = send(&s.router, page("/console", &cookies)).await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.headers[header::LOCATION], "/console/security");
    let security = send(&s.router, page("/console/security", &cookies)).await;
    assert_eq!(security.status, StatusCode::OK);
    let csrf = hidden_value(&security.text, "_csrf");
    let enrol = send(
        &s.router,
        form("/console/security/totp", &cookies, &format!("_csrf={csrf}")),
    )
    .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.text);
    let secret = enrol
        .text
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret is shown")
        .to_owned();
    let code = yunjian_gm::Totp::from_base32(&secret)
        .expect("base32")
        .code_at(s.door.unix_seconds());
    let confirmed = send(
        &s.router,
        form(
            "/console/security/totp/confirm",
            &cookies,
            &format!("_csrf={csrf}&code={code}"),
        ),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);

    let overview = send(&s.router, page("/console", &cookies)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.text.contains("概览"));
    assert!(overview.headers[header::CONTENT_SECURITY_POLICY.as_str()]
        .to_str()
        .unwrap_or("")
        .contains("default-src 'none'"));
    let other = send(
        &s.router,
        page(&format!("/console/vpcs/{}", s.vpcs[1]), &cookies),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "the console scopes like the API"
    );

    // A tenant administrator declares an information system through the form.
    let new_form = send(
        &s.router,
        page("/console/information_systems/new", &cookies),
    )
    .await;
    assert_eq!(new_form.status, StatusCode::OK);
    let csrf = hidden_value(&new_form.text, "_csrf");
    let body = format!(
        "tenant_id={}&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&classification=non_classified&mlps_level=3&sensitivity=internal&importance=important&service_model=iaas&deployment_model=shared&vpc_ids={}",
        s.tenants[0], s.vpcs[0]
    );
    let without_token = send(
        &s.router,
        form("/console/information_systems", &cookies, &body),
    )
    .await;
    assert_eq!(without_token.status, StatusCode::FORBIDDEN);
    let bad_level = send(
        &s.router,
        form(
            "/console/information_systems",
            &cookies,
            &format!(
                "_csrf={csrf}&{}",
                body.replace("mlps_level=3", "mlps_level=9")
            ),
        ),
    )
    .await;
    assert_eq!(bad_level.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_level.text.contains("field-error"),
        "the form shows the field's error"
    );
    assert!(
        bad_level.text.contains("&lt;script&gt;"),
        "the form keeps the input, escaped"
    );
    let created = send(
        &s.router,
        form(
            "/console/information_systems",
            &cookies,
            &format!("_csrf={csrf}&{body}"),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let detail_path = created.headers[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let detail = send(&s.router, page(&detail_path, &cookies)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail
        .text
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !detail.text.contains("<script>alert(1)"),
        "data never becomes markup"
    );

    // Tenant authorizations in the console: the form grants (the enrolment's code
    // counts as the step-up), the table shows it, and it is revocable.
    let authorizations = send(&s.router, page("/console/authorizations", &cookies)).await;
    assert_eq!(authorizations.status, StatusCode::OK);
    assert!(authorizations.text.contains("租户授权"));
    let providers = send(
        &s.router,
        api(Method::GET, "/api/v1/providers", Some(&s.admin_token), None),
    )
    .await
    .json();
    let provider = providers["items"][0]["id"].as_i64().expect("provider");
    let granted = send(
        &s.router,
        form(
            "/console/authorizations",
            &cookies,
            &format!("_csrf={csrf}&provider_id={provider}&kinds=vms&kinds=images&actions=update&reason=%E5%B7%A1%E6%A3%80&days=5&object_ids="),
        ),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    assert!(granted.text.contains("已授权"), "{}", granted.text);
    assert!(granted.text.contains("vms, images") || granted.text.contains("images, vms"));
    let too_long = send(
        &s.router,
        form(
            "/console/authorizations",
            &cookies,
            &format!(
                "_csrf={csrf}&provider_id={provider}&kinds=vms&actions=update&reason=x&days=95"
            ),
        ),
    )
    .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let key = send(
        &s.router,
        form(
            "/console/security/api-keys",
            &cookies,
            &format!("_csrf={csrf}&label=monitoring"),
        ),
    )
    .await;
    assert_eq!(key.status, StatusCode::OK, "{}", key.text);
    assert!(
        key.text.contains("api-key-secret"),
        "the secret is shown once"
    );
    let again = send(&s.router, page("/console/security", &cookies)).await;
    assert!(again.text.contains("monitoring") && !again.text.contains("api-key-secret"));
    let privileges = send(&s.router, page("/console/privileges", &cookies)).await;
    assert_eq!(privileges.status, StatusCode::OK);
    assert!(privileges.text.contains("request-privilege"));

    let english = send(
        &s.router,
        page("/console/lang/en?back=/console/vpcs", &cookies),
    )
    .await;
    assert_eq!(english.headers[header::LOCATION], "/console/vpcs");
    let english_page = send(
        &s.router,
        page("/console/vpcs", &format!("{cookies}; yj_lang=en")),
    )
    .await;
    assert!(english_page.text.contains("Search by name"));

    let logout = send(
        &s.router,
        form("/logout", &cookies, &format!("_csrf={csrf}")),
    )
    .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&s.router, page("/console", &cookies)).await.status,
        StatusCode::SEE_OTHER,
        "the session is gone"
    );
}

/// When the store fails, clients get a 500 with a request id and no internal text, and
/// /healthz says the service is unavailable.
#[tokio::test]
async fn internal_errors_answer_a_request_id_and_never_internal_text() {
    let s = server().await;
    s._store.store.close().await;
    let answer = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/zones",
            Some(&s.admin_token),
            Some(json!({"name": "z", "zone_kind": "internet"})),
        ),
    )
    .await;
    // Authentication may already fail on the closed store: either way it is a 500.
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        answer.text
    );
    assert_eq!(answer.code(), "internal");
    let request_id = answer.json()["error"]["request_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        answer.headers["x-request-id"].to_str().expect("header"),
        request_id
    );
    for leak in ["sqlx", "pool", "closed", "sqlite", "postgres", "Database"] {
        assert!(
            !answer.text.to_lowercase().contains(&leak.to_lowercase()),
            "leaks '{leak}': {}",
            answer.text
        );
    }
    let health = send(&s.router, api(Method::GET, "/healthz", None, None)).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The raw body of a response (bundles are binary).
async fn send_bytes(router: &Router, request: Request<Body>) -> Vec<u8> {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

/// A console page fetched with a session cookie.
async fn console_get(router: &Router, path: &str, token: &str) -> Answer {
    let request = Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("yj_session={token}"))
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}
