//! Signed API requests (7.3.1.1): an API key made after a step-up signs requests with
//! HMAC-SM3; the server refuses replays, tampered bodies, skewed clocks, revoked and
//! unknown keys, and records who acted with which key.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use yunjian_gm::request_signing::sign_yunjian_request;

use super::{api, send, server, Answer, Server};

pub(super) struct Key {
    pub(super) id: String,
    pub(super) secret: String,
}

pub(super) async fn make_key(s: &Server, token: &str) -> Key {
    let created = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/api-keys",
            Some(token),
            Some(json!({"label": "ci integration"})),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let body = created.json();
    Key {
        id: body["access_key_id"].as_str().expect("id").to_owned(),
        secret: body["secret"].as_str().expect("secret").to_owned(),
    }
}

/// A request signed at `offset_ns` from the server's clock with `nonce`, sending `sent`
/// as the body while having signed `signed`.
#[allow(clippy::too_many_arguments)]
pub(super) fn signed_request(
    s: &Server,
    key: &Key,
    method: Method,
    path_and_query: &str,
    signed: &[u8],
    sent: &[u8],
    offset_ns: i64,
    nonce: &str,
) -> Request<Body> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let now = yunjian_app::Clock::now_ns(&*s.door.clock) + offset_ns;
    let headers = sign_yunjian_request(
        &key.id,
        &key.secret,
        method.as_str(),
        "yunjian.test",
        path,
        query,
        signed,
        &yunjian_app::signing_time(now),
        nonce,
    );
    let mut builder = Request::builder().method(method).uri(path_and_query);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    if !sent.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder.body(Body::from(sent.to_vec())).expect("request")
}

async fn records(s: &Server, action: &str) -> Value {
    send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/audit/records?action={action}&limit=20"),
            Some(&s.auditor_token),
            None,
        ),
    )
    .await
    .json()
}

fn assert_refused(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        answer.text
    );
}

#[tokio::test]
async fn signed_requests_act_as_the_keys_account_and_nothing_else_passes() {
    let s = server().await;
    let key = make_key(&s, &s.admin_token).await;
    let zone = br#"{"name": "signed-zone", "zone_kind": "extranet"}"#;
    let nonce = "n-0001-abcdefghijkl";
    let created = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/zones",
            zone,
            zone,
            0,
            nonce,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // The record names the key, never the secret.
    let audit = records(&s, "world.create").await;
    let record = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["object"]["kind"] == "zone" && r["detail"]["values"]["name"] == "signed-zone")
        .cloned()
        .expect("recorded");
    assert_eq!(record["actor"]["credential"], format!("key:{}", key.id));
    assert!(!audit.to_string().contains(&key.secret));

    // The same request again: a replay.
    let replay = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/zones",
            zone,
            zone,
            0,
            nonce,
        ),
    )
    .await;
    assert_refused(&replay, "replay");
    // A body other than the signed one.
    let tampered = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/zones",
            zone,
            br#"{"name": "evil-zone", "zone_kind": "extranet"}"#,
            0,
            "n-0002-abcdefghijkl",
        ),
    )
    .await;
    assert_refused(&tampered, "tampered body");
    // Clocks more than five minutes apart.
    for (offset, nonce) in [
        (6 * 60, "n-0003-abcdefghijkl"),
        (-6 * 60, "n-0004-abcdefghijkl"),
    ] {
        let skewed = send(
            &s.router,
            signed_request(
                &s,
                &key,
                Method::GET,
                "/api/v1/zones",
                b"",
                b"",
                offset * 1_000_000_000,
                nonce,
            ),
        )
        .await;
        assert_refused(&skewed, "skew");
    }
    // Within the window, a query and a read work.
    let read = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::GET,
            "/api/v1/zones?q=signed",
            b"",
            b"",
            60 * 1_000_000_000,
            "n-0005-abcdefghijkl",
        ),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.json()["total"], 1);
    // A signature over another path does not pass for this one.
    let mut moved = signed_request(
        &s,
        &key,
        Method::GET,
        "/api/v1/zones",
        b"",
        b"",
        0,
        "n-0006-abcdefghijkl",
    );
    *moved.uri_mut() = "/api/v1/tenants".parse().expect("uri");
    assert_refused(&send(&s.router, moved).await, "other path");
    // Sessions-only calls and sensitive actions are not for keys.
    let password = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/auth/password",
            b"{}",
            b"{}",
            0,
            "n-0007-abcdefghijkl",
        ),
    )
    .await;
    assert_eq!(password.status, StatusCode::FORBIDDEN, "{}", password.text);
    let body = br#"{"label": "from a key"}"#;
    let another_key = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/auth/api-keys",
            body,
            body,
            0,
            "n-0008-abcdefghijkl",
        ),
    )
    .await;
    assert_eq!(
        another_key.status,
        StatusCode::FORBIDDEN,
        "{}",
        another_key.text
    );
    assert_eq!(another_key.code(), "step_up_required");
    // Unknown and revoked keys.
    let unknown = Key {
        id: "YJAK0000000000000000".into(),
        secret: key.secret.clone(),
    };
    assert_refused(
        &send(
            &s.router,
            signed_request(
                &s,
                &unknown,
                Method::GET,
                "/api/v1/zones",
                b"",
                b"",
                0,
                "n-0009-abcdefghijkl",
            ),
        )
        .await,
        "unknown key",
    );
    let revoked = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/auth/api-keys/{}/revoke", key.id),
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
    assert_refused(
        &send(
            &s.router,
            signed_request(
                &s,
                &key,
                Method::GET,
                "/api/v1/zones",
                b"",
                b"",
                0,
                "n-0010-abcdefghijkl",
            ),
        )
        .await,
        "revoked key",
    );
    let listed = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/auth/api-keys",
            Some(&s.admin_token),
            None,
        ),
    )
    .await
    .json();
    assert!(listed["items"][0]["revoked_at"].is_string());
    assert!(!listed.to_string().contains(&key.secret));
    // Each refusal is on record with its reason.
    let failures = records(&s, "auth.signature").await;
    let reasons: Vec<&str> = failures["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    for expected in [
        "replayed nonce",
        "body does not match x-yj-content-sm3",
        "clock skew over five minutes",
        "bad signature",
        "unknown key",
        "revoked key",
    ] {
        assert!(reasons.contains(&expected), "{expected} not in {reasons:?}");
    }
}
