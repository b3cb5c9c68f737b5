//! Tenant authorizations (7.2.5.5) and temporary privileges (7.5.3.5) through the app:
//! the PDP refuses a provider's write on a tenant's image without the tenant's word and
//! lets it through with it, the record names the grant; windows are capped; expiry is
//! checked at use and recorded by the reaper; approvals need a second person.

use serde_json::json;
use yunjian_app::{AppError, AuthorizationInput, Context, NewAccountInput, PrivilegeInput};
use yunjian_core::ids::{AccountId, ProviderId, TenantId};
use yunjian_core::role::{Principal, Role};
use yunjian_core::schema::Kind;
use yunjian_store::PrivilegeState;

use super::{harness, object, records, world, Harness};

const DAY: i64 = 24 * 60 * 60 * 1_000_000_000;
const STRONG: &str = "Quiet-Harbor#7215-Lantern";

/// A real account of `role` and a context for it that has just stepped up.
async fn account(
    h: &Harness,
    username: &str,
    role: Role,
    tenant: Option<i64>,
    provider: Option<i64>,
) -> Context {
    let person = role.is_separated_admin().then(|| format!("P-{username}"));
    let created = h
        .app
        .create_account(
            &h.admin,
            NewAccountInput {
                username: username.into(),
                display_name: None,
                password: STRONG.into(),
                role,
                tenant: tenant.map(TenantId),
                provider: provider.map(ProviderId),
                person_id: person,
            },
        )
        .await
        .expect("account");
    fresh(h, created.id, username, role, tenant, provider)
}

fn fresh(
    h: &Harness,
    id: AccountId,
    username: &str,
    role: Role,
    tenant: Option<i64>,
    provider: Option<i64>,
) -> Context {
    let mut context = Context::new(
        Principal {
            account_id: id,
            username: username.into(),
            role,
            tenant: tenant.map(TenantId),
            provider: provider.map(ProviderId),
            second_factor: true,
        },
        "req-grants",
        None,
    );
    context.second_factor_at_ns = Some(h.app.now_ns());
    context
}

#[tokio::test]
async fn a_provider_changes_a_tenants_image_only_under_the_tenants_authorization() {
    let h = harness().await;
    let w = world(&h).await;
    let image = h
        .app
        .create(
            &h.admin,
            Kind::Image,
            &object(json!({"provider_id": w.provider, "tenant_id": w.tenants[0], "name": "edu-base",
                "os": "Kylin V10", "visibility": "private", "digest": format!("sm3:{}", "ab".repeat(32))})),
        )
        .await
        .expect("image")
        .object
        .id;
    let operator = account(&h, "op-1", Role::ProviderOperator, None, Some(w.provider)).await;
    let tenant_admin = account(&h, "edu-admin", Role::TenantAdmin, Some(w.tenants[0]), None).await;
    let other_tenant = account(&h, "civ-admin", Role::TenantAdmin, Some(w.tenants[1]), None).await;
    let rename = object(json!({"name": "edu-base-v2"}));

    let refused = h.app.update(&operator, Kind::Image, image, &rename).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let denial = records(&h, "world.update").await;
    assert_eq!(
        denial[0].record.detail.as_ref().expect("detail")["policies"],
        json!(["forbid.provider-without-tenant-authorization"])
    );

    let now = h.app.now_ns();
    let grant = |days: i64, actions: &[&str]| AuthorizationInput {
        provider: ProviderId(w.provider),
        kinds: vec!["images".into()],
        object_ids: vec![image],
        actions: actions.iter().map(|a| a.to_string()).collect(),
        reason: "升级基础镜像 (change ticket 2026-118)".into(),
        starts_at_ns: None,
        expires_at_ns: now + days * DAY,
    };
    // At most 90 days; only the tenant grants; a stale step-up is not enough.
    assert!(matches!(
        h.app
            .grant_authorization(&tenant_admin, grant(91, &["update"]))
            .await,
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        h.app
            .grant_authorization(&operator, grant(30, &["update"]))
            .await,
        Err(AppError::Forbidden(_))
    ));
    let mut stale = tenant_admin.clone();
    stale.second_factor_at_ns = Some(now - 10 * 60 * 1_000_000_000);
    assert!(matches!(
        h.app
            .grant_authorization(&stale, grant(30, &["update"]))
            .await,
        Err(AppError::StepUpRequired)
    ));
    // Another tenant cannot authorize on this tenant's image.
    assert!(matches!(
        h.app
            .grant_authorization(&other_tenant, grant(30, &["update"]))
            .await,
        Err(AppError::Invalid(_))
    ));
    // A delete-only authorization does not cover an update.
    let delete_only = h
        .app
        .grant_authorization(&tenant_admin, grant(30, &["delete"]))
        .await
        .expect("grant");
    assert!(h
        .app
        .update(&operator, Kind::Image, image, &rename)
        .await
        .is_err());
    let granted = h
        .app
        .grant_authorization(&tenant_admin, grant(30, &["update"]))
        .await
        .expect("grant");
    let changed = h
        .app
        .update(&operator, Kind::Image, image, &rename)
        .await
        .expect("authorized update");
    assert_eq!(
        changed.object.values["name"],
        yunjian_core::value::Value::Text("edu-base-v2".into())
    );
    let used = records(&h, "world.update").await;
    let detail = used[0].record.detail.as_ref().expect("detail");
    assert_eq!(
        detail["tenant_authorization"],
        json!(delete_only.id.max(granted.id))
    );
    assert_eq!(detail["policies"], json!(["world.write.provider"]));
    assert_eq!(
        used[0].record.tenant_id,
        Some(w.tenants[0]),
        "the tenant sees the use"
    );

    // Visibility: the tenant and the provider see it, the other tenant does not.
    assert_eq!(
        h.app
            .authorizations(&tenant_admin)
            .await
            .expect("own")
            .len(),
        2
    );
    assert_eq!(
        h.app
            .authorizations(&operator)
            .await
            .expect("provider's")
            .len(),
        2
    );
    assert!(h
        .app
        .authorizations(&other_tenant)
        .await
        .expect("none")
        .is_empty());
    assert!(matches!(
        h.app
            .revoke_authorization(&other_tenant, granted.id, "not mine")
            .await,
        Err(AppError::NotFound)
    ));

    // Expiry is checked at use; the reaper records it once.
    h.clock.advance_ns(31 * DAY);
    let expired = h
        .app
        .update(
            &operator,
            Kind::Image,
            image,
            &object(json!({"name": "edu-base-v3"})),
        )
        .await;
    assert!(
        matches!(expired, Err(AppError::Forbidden(_))),
        "{expired:?}"
    );
    assert_eq!(h.app.reap_grants().await.expect("reap"), 2);
    assert_eq!(h.app.reap_grants().await.expect("reap again"), 0);
    assert_eq!(records(&h, "authorization.expire").await.len(), 2);

    // Revocation ends one early and is recorded.
    let mut tenant_admin = tenant_admin;
    tenant_admin.second_factor_at_ns = Some(h.app.now_ns());
    let renewed = h
        .app
        .grant_authorization(
            &tenant_admin,
            AuthorizationInput {
                expires_at_ns: h.app.now_ns() + 10 * DAY,
                ..grant(1, &["update"])
            },
        )
        .await
        .expect("renewed");
    h.app
        .revoke_authorization(&tenant_admin, renewed.id, "work finished")
        .await
        .expect("revoke");
    assert!(h
        .app
        .update(
            &operator,
            Kind::Image,
            image,
            &object(json!({"name": "edu-base-v4"}))
        )
        .await
        .is_err());
    assert!(matches!(
        h.app
            .revoke_authorization(&tenant_admin, renewed.id, "again")
            .await,
        Err(AppError::Conflict { .. })
    ));
    assert_eq!(records(&h, "authorization.revoke").await.len(), 1);
}

#[tokio::test]
async fn a_temporary_privilege_needs_a_second_security_administrator_and_expires() {
    let h = harness().await;
    let w = world(&h).await;
    let image = h
        .app
        .create(
            &h.admin,
            Kind::Image,
            &object(json!({"provider_id": w.provider, "tenant_id": w.tenants[0], "name": "edu-base",
                "os": "Kylin V10", "visibility": "private", "digest": format!("sm3:{}", "cd".repeat(32))})),
        )
        .await
        .expect("image")
        .object
        .id;
    let tenant_admin = account(&h, "edu-admin", Role::TenantAdmin, Some(w.tenants[0]), None).await;
    let first = account(&h, "sec-a", Role::SecurityAdmin, None, None).await;
    let second = account(&h, "sec-b", Role::SecurityAdmin, None, None).await;
    let rename = object(json!({"name": "edu-base-tenant"}));
    // A tenant administrator does not change images...
    assert!(h
        .app
        .update(&tenant_admin, Kind::Image, image, &rename)
        .await
        .is_err());
    let now = h.app.now_ns();
    let ask = |days: i64| PrivilegeInput {
        account: None,
        privilege: "world.update".into(),
        reason: "迁移期间自行维护镜像".into(),
        starts_at_ns: None,
        expires_at_ns: now + days * DAY,
    };
    // ... may ask for it for at most three months ...
    assert!(matches!(
        h.app.request_privilege(&tenant_admin, ask(93)).await,
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        h.app
            .request_privilege(
                &tenant_admin,
                PrivilegeInput {
                    privilege: "account.role.assign".into(),
                    ..ask(10)
                }
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    let requested = h
        .app
        .request_privilege(&tenant_admin, ask(10))
        .await
        .expect("request");
    assert_eq!(requested.state, PrivilegeState::Requested);
    // ... which is not usable before approval, and the holder cannot approve it.
    assert!(h
        .app
        .update(&tenant_admin, Kind::Image, image, &rename)
        .await
        .is_err());
    assert!(matches!(
        h.app
            .decide_privilege(&tenant_admin, requested.id, PrivilegeState::Approved, "")
            .await,
        Err(AppError::Forbidden(_))
    ));
    let approved = h
        .app
        .decide_privilege(
            &first,
            requested.id,
            PrivilegeState::Approved,
            "ok for the migration",
        )
        .await
        .expect("approve");
    assert_eq!(approved.state, PrivilegeState::Approved);
    assert_eq!(approved.decided_by, Some(first.principal.account_id));
    h.app
        .update(&tenant_admin, Kind::Image, image, &rename)
        .await
        .expect("privileged update");
    let used = records(&h, "world.update").await;
    let policies = &used[0].record.detail.as_ref().expect("detail")["policies"];
    assert_eq!(
        policies,
        &json!([
            "privilege.temporary",
            format!("temporary-privilege:{}", requested.id)
        ])
    );

    // A security administrator's own request needs the other one.
    let own = h
        .app
        .request_privilege(
            &first,
            PrivilegeInput {
                privilege: "world.delete".into(),
                ..ask(5)
            },
        )
        .await
        .expect("own request");
    let self_approval = h
        .app
        .decide_privilege(&first, own.id, PrivilegeState::Approved, "")
        .await;
    assert!(
        matches!(self_approval, Err(AppError::Forbidden(_))),
        "{self_approval:?}"
    );
    let denied = records(&h, "privilege.approve").await;
    assert!(denied.iter().any(|r| r
        .record
        .detail
        .as_ref()
        .is_some_and(|d| d["policies"] == json!(["forbid.self-administration"]))));
    h.app
        .decide_privilege(&second, own.id, PrivilegeState::Rejected, "not needed")
        .await
        .expect("reject");
    assert!(
        h.app
            .decide_privilege(&second, own.id, PrivilegeState::Approved, "")
            .await
            .is_err(),
        "a rejected request stays rejected"
    );

    // Expiry: refused at use at once; the reaper marks and records it.
    h.clock.advance_ns(11 * DAY);
    let mut later = tenant_admin.clone();
    later.second_factor_at_ns = Some(h.app.now_ns());
    assert!(h
        .app
        .update(
            &later,
            Kind::Image,
            image,
            &object(json!({"name": "edu-base-late"}))
        )
        .await
        .is_err());
    let mine = h.app.privileges(&later).await.expect("own privileges");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, PrivilegeState::Expired);
    assert_eq!(h.app.reap_grants().await.expect("reap"), 1);
    assert_eq!(records(&h, "privilege.expire").await.len(), 1);
    // The report keeps everything: approved-then-expired and rejected.
    let all = h.app.privileges(&second).await.expect("all");
    let states: Vec<&str> = all.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, ["rejected", "expired"]);
    // Others see only their own.
    assert!(h
        .app
        .privileges(&super::context(
            Role::ProviderOperator,
            None,
            Some(w.provider)
        ))
        .await
        .expect("own")
        .is_empty());
}

/// API monitoring: a burst of failed logins becomes one security event (deduplicated
/// across runs), visible to the account's tenant and oversight, not to another tenant,
/// and recorded in the ledger; the per-principal call limit refuses and records once.
#[tokio::test]
async fn the_api_monitor_turns_bursts_into_events_for_the_tenant_concerned() {
    let h = harness().await;
    let w = world(&h).await;
    let edu = account(&h, "edu-admin", Role::TenantAdmin, Some(w.tenants[0]), None).await;
    let civ = account(&h, "civ-admin", Role::TenantAdmin, Some(w.tenants[1]), None).await;
    for _ in 0..12 {
        let _ = h
            .app
            .login("edu-admin", "wrong-but-long-guess", "req-guess", None)
            .await;
    }
    let stored = h.app.monitor_api().await.expect("monitor");
    assert!(stored >= 1, "a finding was stored");
    assert_eq!(h.app.monitor_api().await.expect("again"), 0, "deduplicated");
    let own = h.app.security_events(&edu).await.expect("own events");
    assert!(
        own.iter()
            .any(|e| e.kind == "api.failed_logins" && e.severity == "high"),
        "{own:?}"
    );
    assert!(own.iter().all(|e| e.tenant == Some(TenantId(w.tenants[0]))));
    assert!(h.app.security_events(&civ).await.expect("none").is_empty());
    let auditor = super::context(Role::SecurityAuditor, None, None);
    let all = h.app.security_events(&auditor).await.expect("all");
    assert!(own.iter().all(|e| all.contains(e)), "{all:?}");
    assert!(matches!(
        h.app.security_events(&h.admin).await,
        Err(AppError::Forbidden(_))
    ));
    let recorded = records(&h, "security.event").await;
    assert_eq!(recorded.len(), stored);
    assert_eq!(recorded[0].record.tenant_id, Some(w.tenants[0]));

    // The call limit: 600 a minute, then refusals, of which the first is recorded.
    for _ in 0..yunjian_app::API_CALLS_PER_MINUTE {
        h.app.admit_call(&civ).await.expect("within the limit");
    }
    for _ in 0..5 {
        assert!(matches!(
            h.app.admit_call(&civ).await,
            Err(AppError::RateLimited)
        ));
    }
    assert_eq!(records(&h, "api.rate_limited").await.len(), 1);
    h.clock.advance_ns(61 * 1_000_000_000);
    h.app.admit_call(&civ).await.expect("a new minute");
}
