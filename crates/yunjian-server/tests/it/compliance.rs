//! The compliance API over HTTP: the catalog for everyone signed in, runs only for the
//! roles that may start them, results and reports in the reader's scope, evidence uploads
//! larger than the general body limit, downloads with their digest, packages that verify.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use super::{api, login, send, send_bytes, server, PASSWORD};

#[tokio::test]
async fn catalog_runs_results_evidence_and_reports_over_http() {
    let s = server().await;
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let other = login(&s.door, "tenant2", PASSWORD).await;

    // Unauthenticated: refused.
    let answer = send(
        &s.router,
        api(Method::GET, "/api/v1/compliance/catalog", None, None),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    // The catalog, filtered by source.
    let guide = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/catalog?source=guide",
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(guide.status, StatusCode::OK, "{}", guide.text);
    let body = guide.json();
    assert_eq!(body["clauses"].as_array().map(Vec::len), Some(179));
    assert!(body.get("mlps").is_none());
    let clause = body["clauses"]
        .as_array()
        .expect("clauses")
        .iter()
        .find(|c| c["id"] == "7.2.1.2")
        .expect("7.2.1.2")
        .clone();
    assert_eq!(
        clause["text_zh"],
        "应保证云计算基础设施位于重庆市行政区域内。"
    );
    assert!(clause["mlps"]
        .as_array()
        .expect("mlps")
        .contains(&json!("L3-PES2-01")));
    let mlps = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/catalog?source=mlps",
            Some(&tenant),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(mlps["mlps"].as_array().map(Vec::len), Some(46));
    assert!(mlps.get("clauses").is_none());
    let bad = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/catalog?source=nope",
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Runs: not for a tenant; for the system administrator.
    let refused = send(
        &s.router,
        api(Method::POST, "/api/v1/compliance/runs", Some(&tenant), None),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let run = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/compliance/runs",
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.text);
    let run_id = run.json()["id"].as_i64().expect("id");
    assert!(run.json()["resources"].as_i64().expect("resources") > 0);

    // Results in the tenant's scope only, whatever it asks for.
    let own = s.tenants[0];
    let results = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/results?limit=10000",
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.text);
    let items = results.json()["items"].as_array().cloned().expect("items");
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|item| item["tenant_id"] == json!(own)),
        "{items:?}"
    );
    let theirs = send(
        &s.router,
        api(
            Method::GET,
            &format!(
                "/api/v1/compliance/runs/{run_id}/results?scope=tenant:{}",
                s.tenants[1]
            ),
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(theirs.json()["items"], json!([]));
    let bad = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/results?status=GREEN",
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Evidence: the body is the file; larger than the general 64 KiB body limit is fine.
    let file: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let upload = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/compliance/evidence?clause=8.1.1&scope=tenant:{own}&file_name=%E5%AE%89%E5%85%A8%E7%AE%A1%E7%90%86%E5%88%B6%E5%BA%A6.pdf&observed_on=2026-09-01&valid_until=2027-09-01"))
        .header(header::AUTHORIZATION, format!("Bearer {tenant}"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from(file.clone()))
        .expect("request");
    let answer = send(&s.router, upload).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let evidence = answer.json();
    assert_eq!(evidence["file_name"], "安全管理制度.pdf");
    assert_eq!(evidence["sm3"], yunjian_gm::Sm3Digest::of(&file).to_hex());
    let id = evidence["id"].as_i64().expect("id");
    let download = s.router.clone();
    let response = tower::ServiceExt::oneshot(
        download,
        api(
            Method::GET,
            &format!("/api/v1/compliance/evidence/{id}/file"),
            Some(&tenant),
            None,
        ),
    )
    .await
    .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-yunjian-sm3"],
        format!("sm3:{}", evidence["sm3"].as_str().expect("sm3")).as_str()
    );
    assert!(response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii")
        .starts_with("attachment;"));
    let hidden = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/compliance/evidence/{id}/file"),
            Some(&other),
            None,
        ),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    // The other tenant cannot attach evidence to this tenant.
    let forged = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/compliance/evidence?clause=8.1.1&scope=tenant:{own}&file_name=x.pdf&observed_on=2026-09-01&valid_until=2027-09-01"))
        .header(header::AUTHORIZATION, format!("Bearer {other}"))
        .body(Body::from("x"))
        .expect("request");
    assert_eq!(send(&s.router, forged).await.status, StatusCode::FORBIDDEN);

    // Reports: the tenant's own as a PDF; not another's.
    let pdf = send_bytes(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/compliance/reports/compliance?scope=tenant:{own}&format=pdf"),
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert!(pdf.starts_with(b"%PDF"));
    let refused = send(
        &s.router,
        api(
            Method::GET,
            &format!(
                "/api/v1/compliance/reports/compliance?scope=tenant:{}&format=pdf",
                s.tenants[1]
            ),
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unknown = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/reports/bogus",
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // An evidence package verifies with the deployment's key.
    let package = send_bytes(
        &s.router,
        api(
            Method::GET,
            "/api/v1/compliance/evidence-package/compliance?scope=platform",
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    let key = yunjian_gm::NoteVerifierKey::parse(&s.verifier_key).expect("key");
    let verified = yunjian_bundle::verify_evidence_package(&package, Some(&key)).expect("verifies");
    assert!(verified
        .manifest
        .files
        .iter()
        .any(|file| file.path == "compliance-platform-0.xlsx"));

    // Waivers: a tenant asks; the system administrator cannot decide.
    let waiver = send(&s.router, api(Method::POST, "/api/v1/compliance/waivers", Some(&tenant), Some(json!({
        "clause": "8.1.1", "scope": format!("tenant:{own}"), "justification": "制度修订中，预计两个月内完成", "days": 60
    })))).await;
    assert_eq!(waiver.status, StatusCode::CREATED, "{}", waiver.text);
    let waiver_id = waiver.json()["id"].as_i64().expect("id");
    let decided = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/compliance/waivers/{waiver_id}/approve"),
            Some(&s.admin_token),
            Some(json!({})),
        ),
    )
    .await;
    assert_eq!(decided.status, StatusCode::FORBIDDEN, "{}", decided.text);

    // The OpenAPI document describes the compliance API.
    let document = send(&s.router, api(Method::GET, "/api/openapi.json", None, None))
        .await
        .json();
    for path in [
        "/api/v1/compliance/catalog",
        "/api/v1/compliance/runs",
        "/api/v1/compliance/evidence",
        "/api/v1/compliance/reports/{kind}",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path}");
    }
}
