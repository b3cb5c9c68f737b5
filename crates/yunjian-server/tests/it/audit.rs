//! The audit API: records with filters and paging, checkpoint and key, proofs that
//! verify against the checkpoint, export bundles that verify offline, and refusals for
//! roles without audit access (each refusal itself on record).

use axum::http::{header, Method, StatusCode};
use base64::Engine;
use yunjian_core::ledger::{verify_consistency, verify_inclusion, Checkpoint, Hash, TreeHasher};
use yunjian_gm::{open_note, LedgerHash, NoteVerifierKey};

use super::{api, login, send, server, PASSWORD};

fn hashes(value: &serde_json::Value) -> Vec<Hash> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|hash| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(hash.as_str().expect("string"))
                .expect("base64");
            Hash::try_from(bytes).expect("32 bytes")
        })
        .collect()
}

#[tokio::test]
async fn auditors_read_filter_prove_and_export_the_ledger() {
    let s = server().await;
    let token = Some(s.auditor_token.as_str());
    // Records: newest first, filtered, paged with next_before.
    let page = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?action=world.create&limit=2",
            token,
            None,
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let body = page.json();
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|item| item["action"] == "world.create"));
    assert!(items[0]["seq"].as_u64() > items[1]["seq"].as_u64());
    assert!(items[0]["after"]
        .as_str()
        .is_some_and(|d| d.starts_with("sm3:")));
    let before = body["next_before"].as_u64().expect("more pages");
    let older = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/audit/records?action=world.create&limit=2&before={before}"),
            token,
            None,
        ),
    )
    .await;
    assert!(older.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|item| item["seq"].as_u64() < Some(before)));
    let bad = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?outcome=maybe",
            token,
            None,
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    // The checkpoint is a signed note the public key opens.
    let note = send(
        &s.router,
        api(Method::GET, "/api/v1/audit/checkpoint", token, None),
    )
    .await;
    assert_eq!(note.status, StatusCode::OK);
    assert!(note.headers[header::CONTENT_TYPE]
        .to_str()
        .expect("type")
        .starts_with("text/plain"));
    let key_text = send(
        &s.router,
        api(Method::GET, "/api/v1/audit/public-key", token, None),
    )
    .await
    .text;
    assert_eq!(key_text.trim(), s.verifier_key);
    let key = NoteVerifierKey::parse(&key_text).expect("key");
    let checkpoint =
        Checkpoint::parse(&open_note(&key, &note.text).expect("signed")).expect("checkpoint");

    // An inclusion proof of a listed record verifies against the signed head.
    let record = &items[1];
    let seq = record["seq"].as_u64().expect("seq");
    let leaf = LedgerHash::Sm3.leaf(record["line"].as_str().expect("line").as_bytes());
    let proof = send(
        &s.router,
        api(
            Method::GET,
            &format!(
                "/api/v1/audit/proof/inclusion?index={seq}&size={}",
                checkpoint.size
            ),
            token,
            None,
        ),
    )
    .await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.text);
    verify_inclusion(
        &LedgerHash::Sm3,
        seq,
        checkpoint.size,
        &leaf,
        &hashes(&proof.json()["proof"]),
        &checkpoint.root,
    )
    .expect("the proof verifies");
    // A consistency proof from an earlier size verifies against two signed heads.
    let middle = checkpoint.size / 2;
    let earlier_root = {
        let records = send(
            &s.router,
            api(
                Method::GET,
                &format!("/api/v1/audit/records?limit=1000&before={middle}"),
                token,
                None,
            ),
        )
        .await
        .json();
        let mut lines: Vec<(u64, String)> = records["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| {
                (
                    item["seq"].as_u64().expect("seq"),
                    item["line"].as_str().expect("line").to_owned(),
                )
            })
            .collect();
        lines.sort();
        let leaves: Vec<Hash> = lines
            .iter()
            .map(|(_, line)| LedgerHash::Sm3.leaf(line.as_bytes()))
            .collect();
        yunjian_core::ledger::root(&LedgerHash::Sm3, &leaves)
    };
    let consistency = send(
        &s.router,
        api(
            Method::GET,
            &format!(
                "/api/v1/audit/proof/consistency?from={middle}&to={}",
                checkpoint.size
            ),
            token,
            None,
        ),
    )
    .await;
    verify_consistency(
        &LedgerHash::Sm3,
        middle,
        checkpoint.size,
        &earlier_root,
        &checkpoint.root,
        &hashes(&consistency.json()["proof"]),
    )
    .expect("consistent");
    let beyond = send(
        &s.router,
        api(
            Method::GET,
            &format!(
                "/api/v1/audit/proof/inclusion?index=0&size={}",
                checkpoint.size + 1000
            ),
            token,
            None,
        ),
    )
    .await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The export is a tar bundle that verifies offline with the public key.
    let export = send(
        &s.router,
        api(Method::GET, "/api/v1/audit/export", token, None),
    )
    .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.headers[header::CONTENT_TYPE], "application/x-tar");
    let response = s.router.clone();
    let bytes = super::send_bytes(
        &response,
        api(Method::GET, "/api/v1/audit/export?from_seq=3", token, None),
    )
    .await;
    let verified = yunjian_bundle::verify_bundle(&bytes[..], Some(&s.verifier_key), None, &|_| {})
        .expect("verifies");
    assert_eq!(verified.manifest.from, 3);
    assert_eq!(verified.manifest.to, verified.checkpoint.size);
}

#[tokio::test]
async fn administrators_are_refused_the_ledger_and_tenants_get_their_slice() {
    let s = server().await;
    let admin = Some(s.admin_token.as_str());
    for path in [
        "/api/v1/audit/records",
        "/api/v1/audit/export",
        "/api/v1/audit/anomalies",
        "/api/v1/audit/records/0",
    ] {
        let answer = send(&s.router, api(Method::GET, path, admin, None)).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            answer.text
        );
    }
    let verify = send(
        &s.router,
        api(Method::POST, "/api/v1/audit/verify", admin, None),
    )
    .await;
    assert_eq!(verify.status, StatusCode::FORBIDDEN);
    // Each refusal is on record, as the auditor sees.
    let denied = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?outcome=denied&actor=sysadmin&limit=100",
            Some(&s.auditor_token),
            None,
        ),
    )
    .await
    .json();
    let actions: Vec<&str> = denied["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["action"].as_str().expect("action"))
        .collect();
    for action in [
        "audit.read",
        "audit.export",
        "audit.anomalies",
        "audit.verify",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not recorded: {actions:?}"
        );
    }
    // A tenant administrator sees only its tenant's records and gets a slice bundle.
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let records = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?limit=1000",
            Some(&tenant),
            None,
        ),
    )
    .await
    .json();
    let items = records["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(items.iter().all(|item| item["tenant_id"] == s.tenants[0]));
    let other = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/audit/records?tenant={}", s.tenants[1]),
            Some(&tenant),
            None,
        ),
    )
    .await
    .json();
    assert!(other["items"].as_array().expect("items").is_empty());
    let theirs = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/audit/records?tenant={}&limit=1", s.tenants[1]),
            Some(&s.auditor_token),
            None,
        ),
    )
    .await
    .json()["items"][0]["seq"]
        .as_u64()
        .expect("seq");
    let probe = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/audit/records/{theirs}"),
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);
    let bytes = super::send_bytes(
        &s.router,
        api(Method::GET, "/api/v1/audit/export", Some(&tenant), None),
    )
    .await;
    let verified = yunjian_bundle::verify_bundle(&bytes[..], Some(&s.verifier_key), None, &|_| {})
        .expect("slice verifies");
    assert_eq!(verified.manifest.tenant, Some(s.tenants[0]));
}

#[tokio::test]
async fn the_console_audit_page_filters_shows_the_checkpoint_and_verifies() {
    let s = server().await;
    let page = super::console_get(
        &s.router,
        "/console/audit?action=world.create",
        &s.auditor_token,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("world.create"));
    assert!(
        !page.text.contains("<code>auth.login</code>"),
        "filtered to one action"
    );
    assert!(page.text.contains("id=\"checkpoint\""));
    assert!(page.text.contains(&s.verifier_key));
    let detail = super::console_get(&s.router, "/console/audit/3", &s.auditor_token).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.text.contains("id=\"proof\""));
    // The administrators whose actions are audited do not read the trail.
    let refused = super::console_get(&s.router, "/console/audit", &s.admin_token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Export and verify are forms: without the session's CSRF token they are refused
    // and nothing is exported; with it the bundle streams back and verifies.
    let csrf = super::hidden_value(&page.text, "_csrf");
    let post = |path: &str, body: String| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, format!("yj_session={}", s.auditor_token))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .expect("request")
    };
    let forged = send(
        &s.router,
        post("/console/audit/export", "_csrf=forged&from=&to=".into()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bytes = super::send_bytes(
        &s.router,
        post("/console/audit/export", format!("_csrf={csrf}&from=&to=")),
    )
    .await;
    yunjian_bundle::verify_bundle(&bytes[..], Some(&s.verifier_key), None, &|_| {})
        .expect("the console's bundle verifies");
    let verified = send(
        &s.router,
        post("/console/audit/verify", format!("_csrf={csrf}")),
    )
    .await;
    assert_eq!(verified.status, StatusCode::OK);
    assert!(
        verified.text.contains("id=\"verified\""),
        "{}",
        verified.text
    );
    let _ = PASSWORD;
}
