//! Passwords and login failures over HTTP: the lock answers exactly like a wrong
//! password, the system administrator unlocks and resets, weak passwords come back as
//! field errors, and a pending change blocks everything else.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::{api, login, login_only, send, server, PASSWORD, STRONG_PASSWORD};

#[tokio::test]
async fn locks_answer_like_wrong_passwords_and_administrators_unlock_and_reset() {
    let s = server().await;
    let attempt = |password: &str| {
        api(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "tenant2", "password": password})),
        )
    };
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(send(&s.router, attempt("wrong-but-long-guess")).await);
    }
    let locked = send(&s.router, attempt(PASSWORD)).await;
    for answer in answers.iter().chain([&locked]) {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.code(), "bad_credentials");
        assert_eq!(
            answer.json()["error"]["message"],
            locked.json()["error"]["message"]
        );
    }
    let accounts = send(
        &s.router,
        api(Method::GET, "/api/v1/accounts", Some(&s.admin_token), None),
    )
    .await
    .json();
    let id = accounts["items"]
        .as_array()
        .or_else(|| accounts.as_array())
        .expect("accounts")
        .iter()
        .find(|account| account["username"] == "tenant2")
        .and_then(|account| account["id"].as_i64())
        .expect("tenant2");
    let tenant1 = login(&s.door, "tenant1", PASSWORD).await;
    let refused = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/accounts/{id}/unlock"),
            Some(&tenant1),
            None,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unlocked = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/accounts/{id}/unlock"),
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(unlocked.status, StatusCode::NO_CONTENT, "{}", unlocked.text);
    let token = login_only(&s.door, "tenant2", PASSWORD).await;
    // Still the first login: everything but the change waits.
    let blocked = send(
        &s.router,
        api(Method::GET, "/api/v1/vpcs", Some(&token), None),
    )
    .await;
    assert_eq!(
        (blocked.status, blocked.code().as_str()),
        (StatusCode::FORBIDDEN, "password_change_required")
    );
    let weak = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/password",
            Some(&token),
            Some(json!({"current_password": PASSWORD, "new_password": "tenant2-password"})),
        ),
    )
    .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<String> = weak.json()["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|field| field["code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        codes.contains(&"password_contains_username".to_owned()),
        "{codes:?}"
    );
    // A reset gives a one-time password and ends the account's sessions.
    let reset = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/accounts/{id}/password-reset"),
            Some(&s.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    let one_time = reset.json()["one_time_password"]
        .as_str()
        .expect("password")
        .to_owned();
    let ended = send(
        &s.router,
        api(Method::GET, "/api/v1/auth/me", Some(&token), None),
    )
    .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    let fresh = login(&s.door, "tenant2", &one_time).await;
    let ok = send(
        &s.router,
        api(Method::GET, "/api/v1/vpcs", Some(&fresh), None),
    )
    .await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "changed to {STRONG_PASSWORD} at first login, then in"
    );
}

#[tokio::test]
async fn totp_is_enrolled_over_the_api_and_then_asked_for_at_login() {
    let s = server().await;
    let token = login(&s.door, "tenant1", PASSWORD).await;
    let enrol = send(
        &s.router,
        api(Method::POST, "/api/v1/auth/totp/enrol", Some(&token), None),
    )
    .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.text);
    let secret = enrol.json()["secret"].as_str().expect("secret").to_owned();
    let totp = yunjian_gm::Totp::from_base32(&secret).expect("base32");
    // The harness clock is fixed: 1_790_000_000 s.
    let code = totp.code_at(1_790_000_000);
    let confirm = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/totp/confirm",
            Some(&token),
            Some(json!({"code": code})),
        ),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert_eq!(
        confirm.json()["recovery_codes"].as_array().map(Vec::len),
        Some(10)
    );
    let without = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "tenant1", "password": STRONG_PASSWORD})),
        ),
    )
    .await;
    assert_eq!(
        (without.status, without.code().as_str()),
        (StatusCode::UNAUTHORIZED, "totp_required")
    );
    let recovery = confirm.json()["recovery_codes"][0]
        .as_str()
        .expect("code")
        .to_owned();
    let with = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "tenant1", "password": STRONG_PASSWORD, "totp": recovery})),
        ),
    )
    .await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.text);
}

/// The console: enrol an authenticator on the security page (QR code and secret), confirm
/// with a code, then the login form needs the code.
#[tokio::test]
async fn the_console_enrols_an_authenticator_and_the_login_form_asks_for_codes() {
    let s = server().await;
    let token = login(&s.door, "tenant1", PASSWORD).await;
    let page = super::console_get(&s.router, "/console/security", &token).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = super::hidden_value(&page.text, "_csrf");
    let post = |path: &str, body: String| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(axum::http::header::COOKIE, format!("yj_session={token}"))
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(axum::body::Body::from(body))
            .expect("request")
    };
    let forged = send(
        &s.router,
        post("/console/security/totp", "_csrf=forged".into()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let enrol = send(
        &s.router,
        post("/console/security/totp", format!("_csrf={csrf}")),
    )
    .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.text);
    assert!(enrol.text.contains("<svg"), "a QR code");
    let secret = enrol
        .text
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret")
        .to_owned();
    let code = yunjian_gm::Totp::from_base32(&secret)
        .expect("base32")
        .code_at(1_790_000_000);
    let confirmed = send(
        &s.router,
        post(
            "/console/security/totp/confirm",
            format!("_csrf={csrf}&code={code}"),
        ),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    assert!(confirmed.text.contains("id=\"recovery-codes\""));
    let recovery = confirmed
        .text
        .split("id=\"recovery-codes\">")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("a recovery code")
        .trim()
        .to_owned();
    // The login form: without the code it asks for it, with a recovery code it lets in.
    let login_page = send(&s.router, api(Method::GET, "/login", None, None)).await;
    let login_csrf = super::hidden_value(&login_page.text, "_csrf");
    let form = |body: String| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(
                axum::http::header::COOKIE,
                format!("yj_login_csrf={login_csrf}"),
            )
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(axum::body::Body::from(body))
            .expect("request")
    };
    let password = "Quiet-Harbor%237215-Lantern";
    let asked = send(
        &s.router,
        form(format!(
            "_csrf={login_csrf}&username=tenant1&password={password}&totp="
        )),
    )
    .await;
    assert_eq!(asked.status, StatusCode::UNAUTHORIZED);
    assert!(
        asked.text.contains("one-time code") || asked.text.contains("动态口令"),
        "{}",
        asked.text
    );
    let inside = send(
        &s.router,
        form(format!(
            "_csrf={login_csrf}&username=tenant1&password={password}&totp={recovery}"
        )),
    )
    .await;
    assert_eq!(inside.status, StatusCode::SEE_OTHER, "{}", inside.text);
}

/// The security page's sessions: a user sees their live sessions, which one is this, and
/// ends another (which then stops working); nobody ends a session that is not theirs.
#[tokio::test]
async fn a_user_lists_and_ends_their_own_sessions() {
    let s = server().await;
    let first = login(&s.door, "tenant1", PASSWORD).await;
    let second = login_only(&s.door, "tenant1", STRONG_PASSWORD).await;
    let listed = send(
        &s.router,
        api(Method::GET, "/api/v1/auth/sessions", Some(&first), None),
    )
    .await
    .json();
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{listed}");
    assert_eq!(items.iter().filter(|i| i["current"] == true).count(), 1);
    let other = items
        .iter()
        .find(|i| i["current"] == false)
        .and_then(|i| i["id"].as_str())
        .expect("the other session")
        .to_owned();
    // Another account cannot end it.
    let stranger = login(&s.door, "tenant2", PASSWORD).await;
    let refused = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/auth/sessions/{other}/end"),
            Some(&stranger),
            None,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let ended = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/auth/sessions/{other}/end"),
            Some(&first),
            None,
        ),
    )
    .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    let gone = send(
        &s.router,
        api(Method::GET, "/api/v1/auth/me", Some(&second), None),
    )
    .await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    let still = send(
        &s.router,
        api(Method::GET, "/api/v1/auth/me", Some(&first), None),
    )
    .await;
    assert_eq!(still.status, StatusCode::OK);
}
