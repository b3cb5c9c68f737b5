//! Authorization over HTTP: every role against every action family, and a tenant's
//! authorization letting a provider's operator change the tenant's image.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{api, login, send, server, Server, PASSWORD};

pub(super) const NEW_PASSWORD: &str = "Quiet-Harbor#7215-Lantern-9";

pub(super) async fn provider_id(s: &Server) -> i64 {
    send(
        &s.router,
        api(Method::GET, "/api/v1/providers", Some(&s.admin_token), None),
    )
    .await
    .json()["items"][0]["id"]
        .as_i64()
        .expect("provider")
}

/// Creates an account of `role` and logs it in (changing its password and enrolling
/// TOTP as its first login requires).
pub(super) async fn member(s: &Server, username: &str, role: &str, extra: Value) -> String {
    let mut body = json!({"username": username, "password": NEW_PASSWORD, "role": role});
    if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        map.extend(more.clone());
    }
    let created = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/accounts",
            Some(&s.admin_token),
            Some(body),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    login(&s.door, username, NEW_PASSWORD).await
}

#[tokio::test]
async fn every_role_is_refused_every_action_family_it_has_no_policy_for() {
    let s = server().await;
    let provider = provider_id(&s).await;
    let secadmin = login(&s.door, "secadmin", &s.secadmin_password).await;
    let supervisor = member(&s, "watch-1", "supervisor", json!({})).await;
    let auditor = member(&s, "third-1", "auditor", json!({})).await;
    let operator = member(
        &s,
        "op-1",
        "provider_operator",
        json!({"provider_id": provider}),
    )
    .await;
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let roles = [
        ("system_admin", s.admin_token.clone()),
        ("security_admin", secadmin),
        ("security_auditor", s.auditor_token.clone()),
        ("supervisor", supervisor),
        ("provider_operator", operator),
        ("tenant_admin", tenant),
        ("auditor", auditor),
    ];
    // (family, method, path, body, roles allowed)
    type Family<'a> = (&'a str, Method, String, Option<Value>, &'a [&'a str]);
    let families: Vec<Family> = vec![
        (
            "account.list",
            Method::GET,
            "/api/v1/accounts".into(),
            None,
            &[
                "system_admin",
                "security_admin",
                "security_auditor",
                "auditor",
            ],
        ),
        (
            "account.create",
            Method::POST,
            "/api/v1/accounts".into(),
            Some(json!({"username": "x-probe", "password": NEW_PASSWORD, "role": "supervisor"})),
            &["system_admin"],
        ),
        (
            "account.role.assign",
            Method::POST,
            "/api/v1/accounts/999999/role".into(),
            Some(json!({"role": "supervisor"})),
            &["security_admin"],
        ),
        (
            "account.unlock",
            Method::POST,
            "/api/v1/accounts/999999/unlock".into(),
            None,
            &["system_admin"],
        ),
        (
            "audit.read",
            Method::GET,
            "/api/v1/audit/records?limit=1".into(),
            None,
            &["security_auditor", "supervisor", "tenant_admin", "auditor"],
        ),
        (
            "audit.anomalies",
            Method::GET,
            "/api/v1/audit/anomalies".into(),
            None,
            &["security_auditor", "supervisor", "auditor"],
        ),
        (
            "world.read hosts",
            Method::GET,
            "/api/v1/hosts".into(),
            None,
            &[
                "system_admin",
                "security_admin",
                "security_auditor",
                "supervisor",
                "provider_operator",
                "auditor",
            ],
        ),
        (
            "world.create zone",
            Method::POST,
            "/api/v1/zones".into(),
            Some(json!({"name": "probe-zone", "zone_kind": "extranet"})),
            &["system_admin", "supervisor"],
        ),
        (
            "authorization.read",
            Method::GET,
            "/api/v1/tenant-authorizations".into(),
            None,
            &[
                "security_admin",
                "security_auditor",
                "supervisor",
                "provider_operator",
                "tenant_admin",
                "auditor",
            ],
        ),
        (
            "authorization.grant",
            Method::POST,
            "/api/v1/tenant-authorizations".into(),
            Some(
                json!({"provider_id": provider, "kinds": ["images"], "actions": ["update"], "reason": "probe", "days": 1}),
            ),
            &["tenant_admin"],
        ),
        (
            "privilege.approve",
            Method::POST,
            "/api/v1/privileges/999999/approve".into(),
            Some(json!({})),
            &["security_admin"],
        ),
        (
            "event.read",
            Method::GET,
            "/api/v1/security-events".into(),
            None,
            &[
                "security_admin",
                "security_auditor",
                "supervisor",
                "provider_operator",
                "tenant_admin",
                "auditor",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (family, method, path, body, allowed) in &families {
        for (role, token) in &roles {
            let answer = send(
                &s.router,
                api(method.clone(), path, Some(token), body.clone()),
            )
            .await;
            let refused = answer.status == StatusCode::FORBIDDEN;
            let expected_refused = !allowed.contains(role);
            if refused != expected_refused {
                wrong.push(format!(
                    "{role} {family}: {} {}",
                    answer.status, answer.text
                ));
            }
            if refused {
                assert!(
                    answer.code() == "forbidden",
                    "{role} {family}: {}",
                    answer.text
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_tenant_authorizes_a_provider_operator_over_the_api() {
    let s = server().await;
    let provider = provider_id(&s).await;
    let image = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/images",
            Some(&s.admin_token),
            Some(json!({"provider_id": provider, "tenant_id": s.tenants[0], "name": "edu-base",
                "os": "Kylin V10", "visibility": "private", "digest": format!("sm3:{}", "ef".repeat(32))})),
        ),
    )
    .await;
    assert_eq!(image.status, StatusCode::CREATED, "{}", image.text);
    let image = image.json()["id"].as_i64().expect("id");
    let operator = member(
        &s,
        "op-1",
        "provider_operator",
        json!({"provider_id": provider}),
    )
    .await;
    let tenant = login(&s.door, "tenant1", PASSWORD).await;
    let other = login(&s.door, "tenant2", PASSWORD).await;
    let patch = || {
        api(
            Method::PATCH,
            &format!("/api/v1/images/{image}"),
            Some(&operator),
            Some(json!({"os": "Kylin V10 SP3"})),
        )
    };
    let refused = send(&s.router, patch()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(refused.text.contains("7.2.5.5"), "{}", refused.text);
    let grant = json!({"provider_id": provider, "kinds": ["images"], "object_ids": [image],
        "actions": ["update"], "reason": "打补丁 SP3", "days": 3});
    let granted = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/tenant-authorizations",
            Some(&tenant),
            Some(grant.clone()),
        ),
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    assert_eq!(granted.json()["state"], "active");
    let id = granted.json()["id"].as_i64().expect("id");
    let allowed = send(&s.router, patch()).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    // The provider sees the authorization given to it; the other tenant does not.
    let seen = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/tenant-authorizations",
            Some(&operator),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(seen["items"][0]["id"], id);
    let hidden = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/tenant-authorizations",
            Some(&other),
            None,
        ),
    )
    .await
    .json();
    assert_eq!(hidden["items"], json!([]));
    // The tenant sees the use in its own slice of the ledger.
    let used = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/audit/records?action=world.update&limit=5",
            Some(&tenant),
            None,
        ),
    )
    .await
    .json();
    let record = &used["items"][0];
    assert_eq!(record["object"]["id"], image, "{used}");
    assert_eq!(record["detail"]["tenant_authorization"], id);
    assert_eq!(
        record["detail"]["policies"],
        json!(["world.write.provider"])
    );
    // Revoked: refused again.
    let revoked = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/tenant-authorizations/{id}/revoke"),
            Some(&tenant),
            Some(json!({"reason": "done"})),
        ),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.json()["state"], "revoked");
    assert_eq!(send(&s.router, patch()).await.status, StatusCode::FORBIDDEN);
    // Bad input is a field error, not a grant.
    let too_long = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/tenant-authorizations",
            Some(&tenant),
            Some(json!({"provider_id": provider, "kinds": ["images"], "actions": ["update"], "reason": "x", "days": 91})),
        ),
    )
    .await;
    assert_eq!(
        too_long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_long.text
    );
}
