//! 三员分立 and step-up over HTTP: only a security administrator assigns roles, never to
//! themselves and only after a fresh second factor; a person never holds two of the
//! separated roles; an assignment ends the account's sessions.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{api, login, send, server, step_up, Server, PASSWORD};

async fn account_id(s: &Server, username: &str) -> i64 {
    let accounts = send(
        &s.router,
        api(Method::GET, "/api/v1/accounts", Some(&s.admin_token), None),
    )
    .await
    .json();
    accounts["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|account| account["username"] == username)
        .and_then(|account| account["id"].as_i64())
        .unwrap_or_else(|| panic!("no account {username}"))
}

async fn assign(s: &Server, token: &str, id: i64, body: Value) -> super::Answer {
    send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/accounts/{id}/role"),
            Some(token),
            Some(body),
        ),
    )
    .await
}

async fn create(s: &Server, body: Value) -> super::Answer {
    send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/accounts",
            Some(&s.admin_token),
            Some(body),
        ),
    )
    .await
}

#[tokio::test]
async fn roles_are_assigned_by_another_security_administrator_after_a_step_up() {
    let s = server().await;
    let secadmin = login(&s.door, "secadmin", &s.secadmin_password).await;
    let tenant2 = login(&s.door, "tenant2", PASSWORD).await;
    let tenant2_id = account_id(&s, "tenant2").await;
    let secadmin_id = account_id(&s, "secadmin").await;
    let supervisor = json!({"role": "supervisor"});

    // The system administrator does not grant roles; nobody grants themselves one.
    let by_sysadmin = assign(&s, &s.admin_token, tenant2_id, supervisor.clone()).await;
    assert_eq!(
        by_sysadmin.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_sysadmin.text
    );
    let to_self = assign(&s, &secadmin, secadmin_id, json!({"role": "system_admin"})).await;
    assert_eq!(to_self.status, StatusCode::FORBIDDEN, "{}", to_self.text);
    assert!(to_self.text.contains("themselves"), "{}", to_self.text);

    // Five minutes after the last proof of the second factor, a step-up is wanted.
    s.door.clock.advance_ns(6 * 60 * 1_000_000_000);
    let stale = assign(&s, &secadmin, tenant2_id, supervisor.clone()).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(stale.code(), "step_up_required");
    let wrong = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/auth/step-up",
            Some(&secadmin),
            Some(json!({"code": "000000"})),
        ),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.text
    );
    step_up(&s.door, "secadmin", &secadmin).await;
    // A binding that does not fit the role is refused before anything changes.
    let unbound = assign(&s, &secadmin, tenant2_id, json!({"role": "tenant_admin"})).await;
    assert_eq!(unbound.status, StatusCode::UNPROCESSABLE_ENTITY);
    let assigned = assign(&s, &secadmin, tenant2_id, supervisor).await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text);
    assert_eq!(assigned.json()["role"], "supervisor");
    assert_eq!(assigned.json()["tenant_id"], Value::Null);
    // The account's sessions ended: the new role applies from its next login.
    let ended = send(
        &s.router,
        api(Method::GET, "/api/v1/auth/me", Some(&tenant2), None),
    )
    .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);

    // Every refusal and the assignment are in the ledger.
    let records = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?action=account.role.assign&limit=20",
            Some(&s.auditor_token),
            None,
        ),
    )
    .await
    .json();
    let outcomes: Vec<&str> = records["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|record| record["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "denied").count(),
        3,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.iter().filter(|o| **o == "succeeded").count(), 1);
}

#[tokio::test]
async fn a_person_never_holds_two_of_the_three_administrator_roles() {
    let s = server().await;
    let secadmin = login(&s.door, "secadmin", &s.secadmin_password).await;
    let password = "Quiet-Harbor#7215-Lantern-2";
    // The separated roles need the person behind the account.
    let anonymous = create(
        &s,
        json!({"username": "ops-anon", "password": password, "role": "security_auditor"}),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(anonymous.text.contains("person_id"), "{}", anonymous.text);
    let first = create(
        &s,
        json!({"username": "ops-li", "password": password, "role": "system_admin", "person_id": "E-7"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.json()["person_id"], "E-7");
    // The same person as a security auditor: refused.
    let second = create(
        &s,
        json!({"username": "ops-li-audit", "password": password, "role": "security_auditor", "person_id": "E-7"}),
    )
    .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert!(second.text.contains("三员分立"), "{}", second.text);
    // An ordinary account of the same person is fine, but cannot be made a security
    // administrator later.
    let ordinary = create(
        &s,
        json!({"username": "ops-li-view", "password": password, "role": "supervisor", "person_id": "E-7"}),
    )
    .await;
    assert_eq!(ordinary.status, StatusCode::CREATED, "{}", ordinary.text);
    let ordinary_id = ordinary.json()["id"].as_i64().expect("id");
    let promoted = assign(
        &s,
        &secadmin,
        ordinary_id,
        json!({"role": "security_admin"}),
    )
    .await;
    assert_eq!(promoted.status, StatusCode::CONFLICT, "{}", promoted.text);
    // Moving the person's one separated account to another separated role is allowed:
    // still one role.
    let first_id = first.json()["id"].as_i64().expect("id");
    let moved = assign(&s, &secadmin, first_id, json!({"role": "security_auditor"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
}
