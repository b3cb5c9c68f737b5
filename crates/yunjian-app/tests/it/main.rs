//! Use-case tests: authentication, scoping, validation, denials and audit, on the
//! backend `YUNJIAN_TEST_BACKEND` selects.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use yunjian_app::{App, AppError, Context, FixedClock, NewAccountInput, SessionSettings};
use yunjian_core::ids::{ProviderId, TenantId};
use yunjian_core::role::{Principal, Role};
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;
use yunjian_store::{AuditFilter, AuditOutcome, ListQuery};
use yunjian_testkit::{fresh_store, TestStore};

mod compliance;
mod events;
mod grants;
mod identity;
mod ledger;

const START_NS: i64 = 1_790_000_000_000_000_000;

struct Harness {
    app: App,
    clock: Arc<FixedClock>,
    admin: Context,
    store: TestStore,
}

impl Harness {
    fn store(&self) -> &TestStore {
        &self.store
    }

    fn clock_now(&self) -> i64 {
        yunjian_app::Clock::now_ns(&*self.clock)
    }
}

fn object(value: Json) -> Map<String, Json> {
    value.as_object().expect("object").clone()
}

async fn harness() -> Harness {
    let test = fresh_store().await;
    let clock = Arc::new(FixedClock::new(START_NS));
    let app = App::new(
        test.store.clone(),
        clock.clone(),
        SessionSettings::default(),
    );
    let created = app.initialize_administrators().await.expect("init");
    let sysadmin = &created[0];
    let login = app
        .login(
            &sysadmin.username,
            &sysadmin.password,
            "req-0",
            Some("127.0.0.1"),
        )
        .await
        .expect("first administrator logs in");
    // The administrator enrols the second factor its role requires (the code confirms
    // it and counts as a step-up at START_NS).
    let app = app.with_sealing(yunjian_gm::SealingKey::generate());
    let enrolling = Context::new(login.principal.clone(), "req-enrol", None);
    let enrolment = app.begin_totp_enrolment(&enrolling).await.expect("enrol");
    let code = yunjian_gm::Totp::from_base32(&enrolment.secret_base32)
        .expect("base32")
        .code_at((START_NS / 1_000_000_000) as u64);
    app.confirm_totp_enrolment(&enrolling, &login.token, &code)
        .await
        .expect("confirm");
    let mut principal = login.principal;
    principal.second_factor = true;
    let admin = Context {
        principal,
        request_id: "req-1".into(),
        source_address: Some("127.0.0.1".into()),
        source_time_ns: None,
        credential: None,
        // As if the administrator had just proved a second factor (step-up).
        second_factor_at_ns: Some(START_NS),
    };
    Harness {
        app,
        clock,
        admin,
        store: test,
    }
}

fn context(role: Role, tenant: Option<i64>, provider: Option<i64>) -> Context {
    Context {
        principal: Principal {
            account_id: yunjian_core::ids::AccountId(1),
            username: format!("{}-user", role.as_str()),
            role,
            tenant: tenant.map(TenantId),
            provider: provider.map(ProviderId),
            second_factor: true,
        },
        request_id: "req-test".into(),
        source_address: None,
        source_time_ns: None,
        credential: None,
        second_factor_at_ns: None,
    }
}

struct World {
    zone: i64,
    provider: i64,
    tenants: [i64; 2],
    vpcs: [i64; 2],
}

async fn world(h: &Harness) -> World {
    let app = &h.app;
    let admin = &h.admin;
    let zone = app
        .create(
            admin,
            Kind::Zone,
            &object(json!({"name": "政务外网区", "zone_kind": "extranet"})),
        )
        .await
        .expect("zone")
        .object
        .id;
    let provider = app
        .create(admin, Kind::Provider, &object(json!({"name": "服务商甲"})))
        .await
        .expect("provider")
        .object
        .id;
    let mut tenants = [0; 2];
    let mut vpcs = [0; 2];
    for (index, name) in ["市教委", "市民政局"].iter().enumerate() {
        tenants[index] = app
            .create(
                admin,
                Kind::Tenant,
                &object(json!({"name": name, "unit_type": "municipal_department"})),
            )
            .await
            .expect("tenant")
            .object
            .id;
        vpcs[index] = app
            .create(
                admin,
                Kind::Vpc,
                &object(
                    json!({"tenant_id": tenants[index], "provider_id": provider, "zone_id": zone,
                               "name": format!("{name}-VPC"), "cidrs": ["10.8.0.0/16"]}),
                ),
            )
            .await
            .expect("vpc")
            .object
            .id;
    }
    World {
        zone,
        provider,
        tenants,
        vpcs,
    }
}

fn field_codes(error: &AppError) -> Vec<(String, &'static str)> {
    match error {
        AppError::Invalid(errors) => errors.iter().map(|e| (e.field.clone(), e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn records(h: &Harness, action: &str) -> Vec<yunjian_store::AuditRecord> {
    h.app
        .store()
        .audit_records(&AuditFilter {
            action: Some(action.into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
}

#[tokio::test]
async fn logins_fail_alike_are_audited_and_sessions_end_when_idle_or_logged_out() {
    let h = harness().await;
    let unknown = h
        .app
        .login("nobody", "whatever-password", "r1", None)
        .await
        .expect_err("unknown");
    let wrong = h
        .app
        .login("sysadmin", "wrong-password!!", "r2", None)
        .await
        .expect_err("wrong");
    assert_eq!(
        unknown.to_string(),
        wrong.to_string(),
        "same answer for both"
    );
    assert_eq!(unknown.code(), "bad_credentials");
    let failed: Vec<_> = records(&h, "auth.login")
        .await
        .into_iter()
        .filter(|record| record.record.outcome == AuditOutcome::Failed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed.iter().all(|record| record.record.detail.is_none()),
        "no password in the record"
    );

    let created = h
        .app
        .create_account(
            &h.admin,
            NewAccountInput {
                username: "supervisor1".into(),
                display_name: None,
                password: "a-long-enough-passphrase".into(),
                role: Role::Supervisor,
                tenant: None,
                provider: None,
                person_id: None,
            },
        )
        .await
        .expect("account");
    assert_eq!(created.role, Role::Supervisor);
    let login = h
        .app
        .login("supervisor1", "a-long-enough-passphrase", "r3", None)
        .await
        .expect("login");
    // An account made by an administrator changes its password at first login: until
    // then the session reaches only the password change.
    assert!(login.password_change_required);
    assert!(matches!(
        h.app.authenticate(&login.token).await,
        Err(AppError::PasswordChangeRequired)
    ));
    let principal = h
        .app
        .authenticate_restricted(&login.token)
        .await
        .expect("the change is allowed")
        .principal;
    let own = Context::new(principal, "r4", None);
    h.clock.advance_ns(1_000);
    h.app
        .change_password(
            &own,
            &login.token,
            "a-long-enough-passphrase",
            "Nine-Tails#Fox-2026",
        )
        .await
        .expect("a strong new password");
    let authenticated = h
        .app
        .authenticate(&login.token)
        .await
        .expect("authenticated");
    assert_eq!(
        (authenticated.principal.role, authenticated.csrf_token),
        (Role::Supervisor, login.csrf_token.clone())
    );
    assert!(
        !format!("{login:?}").contains(&login.token.0),
        "tokens never print"
    );

    // Idle for longer than the timeout: the session is gone.
    h.clock.advance_ns(16 * 60 * 1_000_000_000);
    assert!(matches!(
        h.app.authenticate(&login.token).await,
        Err(AppError::Unauthenticated)
    ));

    let login = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r4", None)
        .await
        .expect("login");
    let context = Context {
        principal: login.principal.clone(),
        request_id: "r5".into(),
        source_address: None,
        source_time_ns: None,
        credential: None,
        second_factor_at_ns: None,
    };
    h.app.logout(&context, &login.token).await.expect("logout");
    assert!(matches!(
        h.app.authenticate(&login.token).await,
        Err(AppError::Unauthenticated)
    ));
    assert_eq!(records(&h, "auth.logout").await.len(), 1);
}

#[tokio::test]
async fn sessions_end_at_the_absolute_limit_even_when_used() {
    let h = harness().await;
    let login = h.app.login("secauditor", "x", "r", None).await;
    assert!(login.is_err());
    let created = h
        .app
        .create_account(
            &h.admin,
            NewAccountInput {
                username: "auditor1".into(),
                display_name: None,
                password: "another-long-passphrase".into(),
                role: Role::Auditor,
                tenant: None,
                provider: None,
                person_id: None,
            },
        )
        .await
        .expect("account");
    let login = h
        .app
        .login(&created.username, "another-long-passphrase", "r", None)
        .await
        .expect("login");
    for _ in 0..(8 * 60 / 10) {
        h.clock.advance_ns(10 * 60 * 1_000_000_000);
        if h.app.authenticate(&login.token).await.is_err() {
            break;
        }
    }
    assert!(
        h.app.authenticate(&login.token).await.is_err(),
        "8 hours is the absolute limit"
    );
}

#[tokio::test]
async fn a_tenant_admin_never_reads_or_changes_another_tenants_objects() {
    let h = harness().await;
    let w = world(&h).await;
    let tenant_a = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    assert!(h.app.get(&tenant_a, Kind::Vpc, w.vpcs[0]).await.is_ok());
    assert!(matches!(
        h.app.get(&tenant_a, Kind::Vpc, w.vpcs[1]).await,
        Err(AppError::NotFound)
    ));
    let denied = records(&h, "world.get").await;
    assert_eq!(
        denied.len(),
        1,
        "probing another tenant's object is audited"
    );
    assert_eq!(denied[0].record.outcome, AuditOutcome::Denied);
    assert_eq!(denied[0].record.object_id, Some(w.vpcs[1]));

    let page = h
        .app
        .list(&tenant_a, Kind::Vpc, &ListQuery::default())
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![w.vpcs[0]]
    );
    let tenants = h
        .app
        .list(&tenant_a, Kind::Tenant, &ListQuery::default())
        .await
        .expect("list");
    assert_eq!(
        tenants.total, 1,
        "a tenant sees only itself in the tenant list"
    );
    assert!(matches!(
        h.app
            .list(&tenant_a, Kind::Host, &ListQuery::default())
            .await,
        Err(AppError::Forbidden(_))
    ));

    let update = object(json!({"name": "renamed"}));
    assert!(matches!(
        h.app.update(&tenant_a, Kind::Vpc, w.vpcs[1], &update).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        h.app.delete(&tenant_a, Kind::Vpc, w.vpcs[1]).await,
        Err(AppError::NotFound)
    ));
    // Its own VPC is visible but not the tenant's to change (providers build VPCs).
    assert!(matches!(
        h.app.update(&tenant_a, Kind::Vpc, w.vpcs[0], &update).await,
        Err(AppError::Forbidden(_))
    ));

    let system = |tenant: i64, vpc: i64| {
        object(
            json!({"tenant_id": tenant, "name": "审批系统", "classification": "non_classified",
                      "mlps_level": 3, "sensitivity": "internal", "importance": "important",
                      "service_model": "iaas", "deployment_model": "shared", "vpc_ids": [vpc]}),
        )
    };
    let error = h
        .app
        .create(
            &tenant_a,
            Kind::InformationSystem,
            &system(w.tenants[0], w.vpcs[1]),
        )
        .await
        .expect_err("other VPC");
    assert_eq!(
        field_codes(&error),
        vec![("vpc_ids".to_string(), "unknown_reference")]
    );
    let error = h
        .app
        .create(
            &tenant_a,
            Kind::InformationSystem,
            &system(w.tenants[1], w.vpcs[1]),
        )
        .await
        .expect_err("other tenant");
    assert_eq!(
        field_codes(&error),
        vec![
            ("tenant_id".to_string(), "unknown_reference"),
            ("vpc_ids".to_string(), "unknown_reference")
        ]
    );
    let created = h
        .app
        .create(
            &tenant_a,
            Kind::InformationSystem,
            &system(w.tenants[0], w.vpcs[0]),
        )
        .await
        .expect("own");
    assert_eq!(
        created.object.values["vpc_ids"],
        Value::IdList(vec![w.vpcs[0]])
    );
    assert_eq!(
        created
            .names
            .get(&(Kind::Vpc, w.vpcs[0]))
            .map(String::as_str),
        Some("市教委-VPC")
    );

    // A platform administrator linking tenant A's system to tenant B's VPC is refused too.
    let error = h
        .app
        .update(
            &h.admin,
            Kind::InformationSystem,
            created.object.id,
            &object(json!({"vpc_ids": [w.vpcs[1]]})),
        )
        .await
        .expect_err("cross-tenant link");
    assert_eq!(
        field_codes(&error),
        vec![("vpc_ids".to_string(), "reference_mismatch")]
    );
}

#[tokio::test]
async fn a_provider_operator_writes_only_on_its_own_platform() {
    let h = harness().await;
    let w = world(&h).await;
    let other_provider = h
        .app
        .create(
            &h.admin,
            Kind::Provider,
            &object(json!({"name": "服务商乙"})),
        )
        .await
        .expect("p")
        .object
        .id;
    let operator = context(Role::ProviderOperator, None, Some(other_provider));
    let error = h
        .app
        .create(
            &operator,
            Kind::Vpc,
            &object(
                json!({"tenant_id": w.tenants[0], "provider_id": w.provider, "zone_id": w.zone,
                           "name": "越权VPC", "cidrs": ["10.9.0.0/16"]}),
            ),
        )
        .await
        .expect_err("another provider's VPC");
    assert!(
        matches!(error, AppError::Invalid(_) | AppError::Forbidden(_)),
        "{error:?}"
    );
    let own = h
        .app
        .create(
            &operator,
            Kind::Vpc,
            &object(
                json!({"tenant_id": w.tenants[0], "provider_id": other_provider, "zone_id": w.zone,
                           "name": "本服务商VPC", "cidrs": ["10.9.0.0/16"]}),
            ),
        )
        .await
        .expect("own provider");
    assert_eq!(own.object.values["provider_id"], Value::Int(other_provider));
    assert!(matches!(
        h.app.get(&operator, Kind::Vpc, w.vpcs[0]).await,
        Err(AppError::NotFound)
    ));
}

#[tokio::test]
async fn read_only_roles_are_refused_every_write_and_each_refusal_is_audited() {
    let h = harness().await;
    let w = world(&h).await;
    for role in [Role::Auditor, Role::SecurityAuditor] {
        let reader = context(role, None, None);
        assert!(
            h.app.get(&reader, Kind::Vpc, w.vpcs[1]).await.is_ok(),
            "{role:?} reads everything"
        );
        let error = h
            .app
            .create(
                &reader,
                Kind::Zone,
                &object(json!({"name": "x", "zone_kind": "internet"})),
            )
            .await
            .expect_err("no write");
        assert!(matches!(error, AppError::Forbidden(_)));
        assert!(matches!(
            h.app.delete(&reader, Kind::Vpc, w.vpcs[1]).await,
            Err(AppError::Forbidden(_))
        ));
    }
    let denied: Vec<_> = records(&h, "world.create")
        .await
        .into_iter()
        .filter(|r| r.record.outcome == AuditOutcome::Denied)
        .collect();
    assert_eq!(denied.len(), 2);
    assert_eq!(records(&h, "world.delete").await.len(), 2);
    assert_eq!(
        h.app
            .store()
            .count(Kind::Zone, yunjian_store::ReadScope::All)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn a_classified_system_is_refused_and_nothing_is_written() {
    let h = harness().await;
    let w = world(&h).await;
    let before = h.app.store().audit_count().await.expect("count");
    let error = h
        .app
        .create(
            &h.admin,
            Kind::InformationSystem,
            &object(json!({"tenant_id": w.tenants[0], "name": "机要系统", "classification": "classified",
                           "mlps_level": 3, "sensitivity": "sensitive", "importance": "critical",
                           "service_model": "iaas", "deployment_model": "dedicated"})),
        )
        .await
        .expect_err("classified");
    assert_eq!(
        field_codes(&error),
        vec![("classification".to_string(), "classified_system_refused")]
    );
    assert_eq!(
        h.app
            .store()
            .count(Kind::InformationSystem, yunjian_store::ReadScope::All)
            .await
            .expect("count"),
        0
    );
    assert_eq!(h.app.store().audit_count().await.expect("count"), before);
}

#[tokio::test]
async fn subnets_stay_inside_their_vpc_apart_from_each_other_and_vms_inside_their_subnet() {
    let h = harness().await;
    let w = world(&h).await;
    let subnet =
        |name: &str, cidr: &str| object(json!({"vpc_id": w.vpcs[0], "name": name, "cidr": cidr}));
    let web = h
        .app
        .create(&h.admin, Kind::Subnet, &subnet("web", "10.8.1.0/24"))
        .await
        .expect("web");
    assert_eq!(
        web.object.values["tenant_id"],
        Value::Int(w.tenants[0]),
        "derived from the VPC"
    );
    let error = h
        .app
        .create(&h.admin, Kind::Subnet, &subnet("app", "10.8.1.128/25"))
        .await
        .expect_err("overlap");
    assert_eq!(
        field_codes(&error),
        vec![("cidr".to_string(), "overlapping_cidrs")]
    );
    let error = h
        .app
        .create(&h.admin, Kind::Subnet, &subnet("out", "10.9.0.0/24"))
        .await
        .expect_err("outside");
    assert_eq!(
        field_codes(&error),
        vec![("cidr".to_string(), "outside_vpc")]
    );
    let error = h
        .app
        .update(
            &h.admin,
            Kind::Vpc,
            w.vpcs[0],
            &object(json!({"cidrs": ["10.7.0.0/16"]})),
        )
        .await
        .expect_err("VPC would lose its subnet");
    assert_eq!(
        field_codes(&error),
        vec![("cidrs".to_string(), "subnet_outside")]
    );
    let vm = |ip: &str| {
        object(
            json!({"vpc_id": w.vpcs[0], "subnet_id": web.object.id, "name": "vm-1", "vcpus": 4,
                      "memory_mib": 8192, "status": "running", "ip_addresses": [ip]}),
        )
    };
    let error = h
        .app
        .create(&h.admin, Kind::Vm, &vm("10.8.2.5"))
        .await
        .expect_err("outside subnet");
    assert_eq!(
        field_codes(&error),
        vec![("ip_addresses".to_string(), "outside_subnet")]
    );
    let created = h
        .app
        .create(&h.admin, Kind::Vm, &vm("10.8.1.5"))
        .await
        .expect("vm");
    assert_eq!(created.object.values["provider_id"], Value::Int(w.provider));
    let error = h
        .app
        .update(
            &h.admin,
            Kind::Vm,
            created.object.id,
            &object(json!({"vpc_id": w.vpcs[1]})),
        )
        .await
        .expect_err("move");
    assert_eq!(
        field_codes(&error),
        vec![("vpc_id".to_string(), "immutable")]
    );
}

#[tokio::test]
async fn changes_are_audited_with_their_diff_and_in_use_objects_are_not_deleted() {
    let h = harness().await;
    let w = world(&h).await;
    let updated = h
        .app
        .update(
            &h.admin,
            Kind::Tenant,
            w.tenants[0],
            &object(json!({"key_tenant": true, "contact_name": "张三"})),
        )
        .await
        .expect("update");
    assert_eq!(updated.object.revision, 2);
    let record = &records(&h, "world.update").await[0].record;
    assert_eq!(record.tenant_id, Some(w.tenants[0]));
    assert_eq!(
        record.detail.as_ref().expect("detail")["changes"],
        json!({"key_tenant": {"from": false, "to": true}, "contact_name": {"from": null, "to": "张三"}})
    );
    // An update that changes nothing writes nothing.
    let same = h
        .app
        .update(
            &h.admin,
            Kind::Tenant,
            w.tenants[0],
            &object(json!({"key_tenant": true})),
        )
        .await
        .expect("same");
    assert_eq!(same.object.revision, 2);
    assert_eq!(records(&h, "world.update").await.len(), 1);

    let error = h
        .app
        .delete(&h.admin, Kind::Tenant, w.tenants[0])
        .await
        .expect_err("in use");
    assert!(
        matches!(&error, AppError::Conflict { message, .. } if message.contains("vpcs")),
        "{error:?}"
    );
    h.app
        .delete(&h.admin, Kind::Vpc, w.vpcs[0])
        .await
        .expect("delete VPC");
    h.app
        .delete(&h.admin, Kind::Tenant, w.tenants[0])
        .await
        .expect("delete tenant");
    let deleted = records(&h, "world.delete").await;
    assert_eq!(deleted.len(), 2);
    assert_eq!(
        deleted[0].record.detail.as_ref().expect("detail")["values"]["name"],
        json!("市教委")
    );
}

#[tokio::test]
async fn duplicate_names_and_bad_references_name_the_field() {
    let h = harness().await;
    let w = world(&h).await;
    let error = h
        .app
        .create(
            &h.admin,
            Kind::Tenant,
            &object(json!({"name": "市教委", "unit_type": "district"})),
        )
        .await
        .expect_err("duplicate");
    assert!(
        matches!(&error, AppError::Conflict { field: Some(field), .. } if field == "name"),
        "{error:?}"
    );
    let error = h
        .app
        .create(
            &h.admin,
            Kind::Subnet,
            &object(json!({"vpc_id": 424242, "name": "x", "cidr": "10.0.0.0/24"})),
        )
        .await
        .expect_err("dangling");
    assert_eq!(
        field_codes(&error),
        vec![("vpc_id".to_string(), "unknown_reference")]
    );
    let error = h
        .app
        .create(
            &h.admin,
            Kind::Tenant,
            &object(json!({"name": "子单位", "unit_type": "district", "parent_id": w.tenants[0]})),
        )
        .await
        .expect("child");
    let error = h
        .app
        .update(
            &h.admin,
            Kind::Tenant,
            w.tenants[0],
            &object(json!({"parent_id": error.object.id})),
        )
        .await
        .expect_err("cycle");
    assert_eq!(
        field_codes(&error),
        vec![("parent_id".to_string(), "cycle")]
    );
}

#[tokio::test]
async fn admin_init_runs_once_and_only_system_admins_create_accounts() {
    let h = harness().await;
    assert!(matches!(
        h.app.initialize_administrators().await,
        Err(AppError::Conflict { .. })
    ));
    let accounts = h.app.accounts(&h.admin).await.expect("accounts");
    let roles: Vec<Role> = accounts.iter().map(|a| a.role).collect();
    assert_eq!(
        roles,
        [
            Role::SystemAdmin,
            Role::SecurityAdmin,
            Role::SecurityAuditor
        ]
    );
    let supervisor = context(Role::Supervisor, None, None);
    let input = NewAccountInput {
        username: "sneaky".into(),
        display_name: None,
        password: "a-long-enough-passphrase".into(),
        role: Role::SystemAdmin,
        tenant: None,
        provider: None,
        person_id: Some("E-1001".into()),
    };
    assert!(matches!(
        h.app.create_account(&supervisor, input.clone()).await,
        Err(AppError::Forbidden(_))
    ));
    let short = NewAccountInput {
        password: "short".into(),
        ..input.clone()
    };
    assert_eq!(
        field_codes(
            &h.app
                .create_account(&h.admin, short)
                .await
                .expect_err("short")
        ),
        vec![("password".to_string(), "password_too_short")]
    );
    let unbound = NewAccountInput {
        role: Role::TenantAdmin,
        ..input
    };
    assert_eq!(
        field_codes(
            &h.app
                .create_account(&h.admin, unbound)
                .await
                .expect_err("unbound")
        ),
        vec![("tenant_id".to_string(), "binding")]
    );
}

#[tokio::test]
async fn the_overview_counts_only_what_the_reader_may_see() {
    let h = harness().await;
    let w = world(&h).await;
    let overview = h.app.overview(&h.admin).await.expect("overview");
    let total = |overview: &yunjian_app::Overview, kind: Kind| {
        overview
            .totals
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
    };
    assert_eq!(total(&overview, Kind::Vpc), Some(2));
    assert_eq!(overview.vpcs_by_zone[0].label, "政务外网区");
    let tenant_a = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    let overview = h.app.overview(&tenant_a).await.expect("overview");
    assert_eq!(total(&overview, Kind::Vpc), Some(1));
    assert_eq!(
        total(&overview, Kind::Host),
        None,
        "hosts are not a tenant's to see"
    );
}

/// Concurrent writers cannot both pass a rule that spans rows: of many simultaneous
/// creations of the same subnet block in one VPC exactly one succeeds, on SQLite (one
/// writer) and on PostgreSQL (an advisory lock on the VPC), so several server instances
/// stay correct too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overlapping_subnets_let_exactly_one_through() {
    let h = harness().await;
    let w = world(&h).await;
    let mut tasks = Vec::new();
    for index in 0..12 {
        let app = h.app.clone();
        let admin = h.admin.clone();
        let vpc = w.vpcs[0];
        tasks.push(tokio::spawn(async move {
            app.create(
                &admin,
                Kind::Subnet,
                &object(
                    json!({"vpc_id": vpc, "name": format!("race-{index}"), "cidr": "10.8.5.0/24"}),
                ),
            )
            .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(
                field_codes(&error),
                vec![("cidr".to_string(), "overlapping_cidrs")]
            ),
        }
    }
    assert_eq!(created, 1);
}

/// The overview is served from a per-scope cache for a few seconds: changes through this
/// instance show at once, changes through another instance within the lifetime, and no
/// scope ever sees another's numbers.
#[tokio::test]
async fn the_overview_cache_is_per_scope_and_short_lived() {
    let h = harness().await;
    let w = world(&h).await;
    let vpcs = |overview: &yunjian_app::Overview| {
        overview
            .totals
            .iter()
            .find(|(k, _)| *k == Kind::Vpc)
            .map(|(_, n)| *n)
    };
    assert_eq!(
        vpcs(&h.app.overview(&h.admin).await.expect("overview")),
        Some(2)
    );
    let tenant_a = context(Role::TenantAdmin, Some(w.tenants[0]), None);
    assert_eq!(
        vpcs(&h.app.overview(&tenant_a).await.expect("overview")),
        Some(1),
        "never the platform's numbers"
    );

    // Another instance writes straight to the store: this one shows it after the lifetime.
    let mut tx = h.app.store().begin_write().await.expect("begin");
    let values: yunjian_core::value::Values = [
        ("tenant_id", Value::Int(w.tenants[1])),
        ("provider_id", Value::Int(w.provider)),
        ("zone_id", Value::Int(w.zone)),
        ("name", Value::Text("elsewhere".into())),
        ("cidrs", Value::TextList(vec!["10.9.0.0/16".into()])),
    ]
    .into_iter()
    .collect();
    tx.insert(Kind::Vpc, &values, START_NS)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(
        vpcs(&h.app.overview(&h.admin).await.expect("overview")),
        Some(2),
        "cached"
    );
    h.clock.advance_ns(yunjian_app::OVERVIEW_LIFETIME_NS);
    assert_eq!(
        vpcs(&h.app.overview(&h.admin).await.expect("overview")),
        Some(3),
        "refreshed after the lifetime"
    );

    // A change through this instance shows at once.
    h.app
        .create(
            &h.admin,
            Kind::Vpc,
            &object(json!({"tenant_id": w.tenants[0], "provider_id": w.provider, "zone_id": w.zone, "name": "new", "cidrs": ["10.10.0.0/16"]})),
        )
        .await
        .expect("vpc");
    assert_eq!(
        vpcs(&h.app.overview(&h.admin).await.expect("overview")),
        Some(4)
    );
    assert_eq!(
        vpcs(&h.app.overview(&tenant_a).await.expect("overview")),
        Some(2)
    );
}
