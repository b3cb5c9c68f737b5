//! The store conformance suite. Every test runs on SQLite by default and on a real
//! PostgreSQL cluster when `YUNJIAN_TEST_BACKEND=postgres` (scripts/test runs both).

use yunjian_core::access::ReadScope;
use yunjian_core::demo::{generate, Scale};
use yunjian_core::ids::TenantId;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_core::value::{Value, Values};
use yunjian_store::{
    AuditFilter, AuditOutcome, Filter, ListQuery, NewAccount, NewAuditRecord, Session, SortOrder,
    Store, StoreError,
};
use yunjian_testkit::{empty_store, fresh_store};

fn values(pairs: &[(&'static str, Value)]) -> Values {
    pairs.iter().cloned().collect()
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// A small world: a zone, a provider, two tenants, one VPC each.
struct World {
    zone: i64,
    provider: i64,
    tenants: [i64; 2],
    vpcs: [i64; 2],
}

async fn small_world(store: &Store) -> World {
    let mut tx = store.begin_write().await.expect("begin");
    let zone = tx
        .insert(
            Kind::Zone,
            &values(&[
                ("name", text("政务外网区")),
                ("zone_kind", text("extranet")),
            ]),
            10,
        )
        .await
        .expect("zone");
    let provider = tx
        .insert(Kind::Provider, &values(&[("name", text("服务商甲"))]), 10)
        .await
        .expect("provider");
    let mut tenants = [0; 2];
    let mut vpcs = [0; 2];
    for (index, name) in ["市教委", "市民政局"].iter().enumerate() {
        tenants[index] = tx
            .insert(
                Kind::Tenant,
                &values(&[
                    ("name", text(name)),
                    ("unit_type", text("municipal_department")),
                ]),
                10,
            )
            .await
            .expect("tenant");
        vpcs[index] = tx
            .insert(
                Kind::Vpc,
                &values(&[
                    ("tenant_id", Value::Int(tenants[index])),
                    ("provider_id", Value::Int(provider)),
                    ("zone_id", Value::Int(zone)),
                    ("name", text(&format!("{name}-VPC"))),
                    ("cidrs", Value::TextList(vec!["10.1.0.0/16".into()])),
                ]),
                10,
            )
            .await
            .expect("vpc");
    }
    tx.commit().await.expect("commit");
    World {
        zone,
        provider,
        tenants,
        vpcs,
    }
}

fn tenant_scope(tenant: i64) -> ReadScope {
    ReadScope::Column {
        column: "tenant_id",
        id: tenant,
    }
}

#[tokio::test]
async fn migrations_apply_once_and_every_schema_field_has_its_column() {
    let test = empty_store().await;
    let store = &test.store;
    assert_eq!(
        store.migrate(5).await.expect("migrate"),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    );
    assert!(
        store.migrate(6).await.expect("again").is_empty(),
        "migrations are idempotent"
    );
    assert_eq!(
        store.schema_version().await.expect("version"),
        Store::known_schema_version()
    );
    // Every kind lists (selecting every schema column) on an empty database.
    for kind in Kind::ALL {
        let page = store
            .list(kind, &ListQuery::default(), ReadScope::All)
            .await
            .unwrap_or_else(|error| panic!("{kind:?}: {error}"));
        assert_eq!(page.total, 0);
    }
}

#[tokio::test]
async fn every_value_type_round_trips_and_updates_bump_the_revision() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let mut tx = store.begin_write().await.expect("begin");
    let datacenter = values(&[
        ("provider_id", Value::Int(world.provider)),
        ("name", text("水土数据中心")),
        ("address", text("重庆市两江新区")),
        ("district", Value::Null),
        ("latitude", Value::Float(29.7764)),
        ("longitude", Value::Float(106.4972)),
        ("datum", text("wgs84")),
        ("remote_backup_site", Value::Bool(true)),
        (
            "carriers",
            Value::TextList(vec!["china_telecom".into(), "china_unicom".into()]),
        ),
        ("external_id", text("dc-6f1b2c")),
    ]);
    let id = tx
        .insert(Kind::Datacenter, &datacenter, 100)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let stored = store
        .get(Kind::Datacenter, id, ReadScope::All)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored.values, datacenter);
    assert_eq!((stored.created_at_ns, stored.revision), (100, 1));

    let mut changed = datacenter.clone();
    changed.insert("remote_backup_site", Value::Bool(false));
    changed.insert("carriers", Value::TextList(vec![]));
    let mut tx = store.begin_write().await.expect("begin");
    assert_eq!(
        tx.update(Kind::Datacenter, id, &changed, 200)
            .await
            .expect("update"),
        2
    );
    tx.commit().await.expect("commit");
    let stored = store
        .get(Kind::Datacenter, id, ReadScope::All)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored.values, changed);
    assert_eq!((stored.created_at_ns, stored.updated_at_ns), (100, 200));
}

#[tokio::test]
async fn reads_are_scoped_a_tenant_never_sees_another_tenants_vpc() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let [a, b] = world.tenants;
    assert!(store
        .get(Kind::Vpc, world.vpcs[0], tenant_scope(a))
        .await
        .expect("get")
        .is_some());
    assert!(store
        .get(Kind::Vpc, world.vpcs[1], tenant_scope(a))
        .await
        .expect("get")
        .is_none());
    let page = store
        .list(Kind::Vpc, &ListQuery::default(), tenant_scope(b))
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, world.vpcs[1]);
    assert_eq!(
        store
            .count(Kind::Vpc, ReadScope::Nothing)
            .await
            .expect("count"),
        0
    );
    let names = store
        .names(&[
            (Kind::Vpc, world.vpcs.to_vec(), tenant_scope(a)),
            (Kind::Tenant, world.tenants.to_vec(), ReadScope::All),
            (Kind::Zone, vec![world.zone], ReadScope::Nothing),
        ])
        .await
        .expect("names");
    assert_eq!(
        names,
        vec![
            (Kind::Vpc, world.vpcs[0], "市教委-VPC".to_owned()),
            (Kind::Tenant, world.tenants[0], "市教委".to_owned()),
            (Kind::Tenant, world.tenants[1], "市民政局".to_owned()),
        ],
        "names of other tenants' objects are not revealed"
    );

    // Shared rows: public images are visible to every tenant, private ones to the owner.
    let mut tx = store.begin_write().await.expect("begin");
    for (name, owner) in [
        ("public", None),
        ("private-a", Some(a)),
        ("private-b", Some(b)),
    ] {
        tx.insert(
            Kind::Image,
            &values(&[
                ("provider_id", Value::Int(world.provider)),
                ("tenant_id", owner.map_or(Value::Null, Value::Int)),
                ("name", text(name)),
                ("os", text("Kylin V10")),
                (
                    "visibility",
                    text(if owner.is_some() { "private" } else { "public" }),
                ),
                ("digest", text(&format!("sm3:{}", "ab".repeat(32)))),
            ]),
            1,
        )
        .await
        .expect("image");
    }
    tx.commit().await.expect("commit");
    let shared = ReadScope::ColumnOrShared {
        column: "tenant_id",
        id: a,
    };
    let visible: Vec<String> = store
        .list(Kind::Image, &ListQuery::default(), shared)
        .await
        .expect("list")
        .items
        .iter()
        .map(|object| object.display_name())
        .collect();
    assert_eq!(visible, ["public", "private-a"]);
}

#[tokio::test]
async fn unique_and_reference_constraints_refuse_without_partial_writes() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let mut tx = store.begin_write().await.expect("begin");
    let duplicate = values(&[("name", text("市教委")), ("unit_type", text("district"))]);
    assert_eq!(
        tx.find_duplicate(Kind::Tenant, &["name"], &duplicate, None)
            .await
            .expect("find"),
        Some(world.tenants[0])
    );
    assert_eq!(
        tx.find_duplicate(Kind::Tenant, &["name"], &duplicate, Some(world.tenants[0]))
            .await
            .expect("find"),
        None
    );
    let error = tx
        .insert(Kind::Tenant, &duplicate, 1)
        .await
        .expect_err("duplicate name");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    drop(tx);

    // A referenced tenant cannot be deleted; the failed transaction changes nothing.
    let mut tx = store.begin_write().await.expect("begin");
    let field = Kind::Vpc.spec().field("tenant_id").expect("field");
    assert_eq!(
        tx.count_references(Kind::Vpc, field, world.tenants[0])
            .await
            .expect("count"),
        1
    );
    let error = tx
        .delete(Kind::Tenant, world.tenants[0])
        .await
        .expect_err("in use");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    drop(tx);
    assert_eq!(
        store
            .count(Kind::Tenant, ReadScope::All)
            .await
            .expect("count"),
        2
    );

    // A dangling reference is refused by the database as a backstop to the app's check.
    let mut tx = store.begin_write().await.expect("begin");
    let error = tx
        .insert(
            Kind::Subnet,
            &values(&[
                ("vpc_id", Value::Int(9999)),
                ("name", text("x")),
                ("cidr", text("10.1.1.0/24")),
                ("tenant_id", Value::Int(world.tenants[0])),
                ("provider_id", Value::Int(world.provider)),
            ]),
            1,
        )
        .await
        .expect_err("dangling");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
}

#[tokio::test]
async fn a_change_and_its_audit_record_commit_together_or_not_at_all() {
    let test = fresh_store().await;
    let store = &test.store;
    let record = |action: &str| NewAuditRecord {
        at_ns: 5,
        actor_account_id: Some(1),
        actor_username: Some("admin".into()),
        actor_role: Some("system_admin".into()),
        actor_tenant_id: None,
        actor_provider_id: None,
        source_address: Some("127.0.0.1".into()),
        request_id: Some("req-1".into()),
        action: action.into(),
        object_kind: Some("zone".into()),
        object_id: Some(1),
        tenant_id: Some(7),
        outcome: AuditOutcome::Succeeded,
        reason: None,
        detail: Some(serde_json::json!({"name": "互联网区"})),
        source_time_ns: Some(4),
        actor_credential: Some("session:00aa".into()),
        before_digest: None,
        after_digest: Some("sm3:ab".into()),
    };
    let zone = values(&[("name", text("互联网区")), ("zone_kind", text("internet"))]);
    let mut tx = store.begin_write().await.expect("begin");
    tx.insert(Kind::Zone, &zone, 1).await.expect("insert");
    tx.append_audit(&record("world.create"))
        .await
        .expect("audit");
    drop(tx); // rolled back
    assert_eq!(
        store
            .count(Kind::Zone, ReadScope::All)
            .await
            .expect("count"),
        0
    );
    assert_eq!(store.audit_count().await.expect("count"), 0);

    let mut tx = store.begin_write().await.expect("begin");
    tx.insert(Kind::Zone, &zone, 1).await.expect("insert");
    let seq = tx
        .append_audit(&record("world.create"))
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .count(Kind::Zone, ReadScope::All)
            .await
            .expect("count"),
        1
    );
    let records = store
        .audit_records(&AuditFilter {
            tenant_id: Some(7),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].seq, seq);
    assert_eq!(records[0].record, record("world.create"));
    let none = store
        .audit_records(&AuditFilter {
            tenant_id: Some(8),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("records");
    assert!(none.is_empty());
}

#[tokio::test]
async fn lists_search_filter_sort_and_page_the_same_on_both_backends() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let mut tx = store.begin_write().await.expect("begin");
    for (index, name) in ["Web-01", "web-02", "数据库-01", "App_01", "app%02"]
        .iter()
        .enumerate()
    {
        tx.insert(
            Kind::Subnet,
            &values(&[
                ("vpc_id", Value::Int(world.vpcs[0])),
                ("name", text(name)),
                ("cidr", text(&format!("10.1.{index}.0/24"))),
                ("tenant_id", Value::Int(world.tenants[0])),
                ("provider_id", Value::Int(world.provider)),
            ]),
            index as i64,
        )
        .await
        .expect("subnet");
    }
    tx.commit().await.expect("commit");
    let names = |page: yunjian_store::Page| -> Vec<String> {
        page.items
            .iter()
            .map(|object| object.display_name())
            .collect()
    };
    let search = |term: &str| ListQuery {
        search: Some(term.into()),
        sort: "name",
        ..ListQuery::default()
    };
    assert_eq!(
        names(
            store
                .list(Kind::Subnet, &search("WEB"), ReadScope::All)
                .await
                .expect("list")
        ),
        ["Web-01", "web-02"]
    );
    assert_eq!(
        names(
            store
                .list(Kind::Subnet, &search("数据库"), ReadScope::All)
                .await
                .expect("list")
        ),
        ["数据库-01"]
    );
    // LIKE wildcards in the search are literal characters.
    assert_eq!(
        names(
            store
                .list(Kind::Subnet, &search("%"), ReadScope::All)
                .await
                .expect("list")
        ),
        ["app%02"]
    );
    assert_eq!(
        names(
            store
                .list(Kind::Subnet, &search("_"), ReadScope::All)
                .await
                .expect("list")
        ),
        ["App_01"]
    );

    let descending = ListQuery {
        sort: "cidr",
        order: SortOrder::Descending,
        per_page: 2,
        page: 2,
        ..ListQuery::default()
    };
    let page = store
        .list(Kind::Subnet, &descending, ReadScope::All)
        .await
        .expect("list");
    assert_eq!(page.total, 5);
    assert_eq!(names(page), ["数据库-01", "web-02"]);
    let filtered = ListQuery {
        filters: vec![Filter {
            field: "vpc_id",
            value: Value::Int(world.vpcs[1]),
        }],
        ..ListQuery::default()
    };
    assert_eq!(
        store
            .list(Kind::Subnet, &filtered, ReadScope::All)
            .await
            .expect("list")
            .total,
        0
    );
    // Keyset paging walks the same rows as the full list, in both directions.
    for order in [SortOrder::Ascending, SortOrder::Descending] {
        let full: Vec<i64> = store
            .list(
                Kind::Subnet,
                &ListQuery {
                    order,
                    ..ListQuery::default()
                },
                ReadScope::All,
            )
            .await
            .expect("list")
            .items
            .iter()
            .map(|object| object.id)
            .collect();
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let query = ListQuery {
                order,
                per_page: 2,
                after,
                ..ListQuery::default()
            };
            let page = store
                .list(Kind::Subnet, &query, ReadScope::All)
                .await
                .expect("page");
            assert_eq!(
                page.total, 5,
                "the total counts every match, not what is left"
            );
            walked.extend(page.items.iter().map(|object| object.id));
            match page.items.last() {
                Some(last) if page.items.len() == 2 => after = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(walked, full, "{order:?}");
    }
    // Optional columns sort with NULLs last in both directions on both backends.
    let mut tx = store.begin_write().await.expect("begin");
    for (name, description) in [("b", Some("beta")), ("a", None), ("c", Some("alpha"))] {
        tx.insert(
            Kind::SecurityGroup,
            &values(&[
                ("vpc_id", Value::Int(world.vpcs[0])),
                ("name", text(name)),
                ("description", description.map_or(Value::Null, text)),
                ("tenant_id", Value::Int(world.tenants[0])),
                ("provider_id", Value::Int(world.provider)),
            ]),
            1,
        )
        .await
        .expect("group");
    }
    tx.commit().await.expect("commit");
    for (order, expected) in [
        (SortOrder::Ascending, ["c", "b", "a"]),
        (SortOrder::Descending, ["b", "c", "a"]),
    ] {
        let query = ListQuery {
            sort: "description",
            order,
            ..ListQuery::default()
        };
        let page = store
            .list(Kind::SecurityGroup, &query, ReadScope::All)
            .await
            .expect("list");
        assert_eq!(names(page), expected, "{order:?}");
    }
    let grouped = store
        .count_by(Kind::Subnet, "vpc_id", ReadScope::All)
        .await
        .expect("count_by");
    assert_eq!(grouped, vec![(Value::Int(world.vpcs[0]), 5)]);
    let _ = world.zone;
}

#[tokio::test]
async fn list_references_live_in_a_link_table() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let system = values(&[
        ("tenant_id", Value::Int(world.tenants[0])),
        ("name", text("行政审批系统")),
        ("classification", text("non_classified")),
        ("mlps_level", Value::Int(3)),
        ("sensitivity", text("sensitive")),
        ("importance", text("important")),
        ("service_model", text("iaas")),
        ("deployment_model", text("shared")),
        ("vpc_ids", Value::IdList(vec![world.vpcs[0]])),
    ]);
    let mut tx = store.begin_write().await.expect("begin");
    let id = tx
        .insert(Kind::InformationSystem, &system, 1)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let stored = store
        .get(Kind::InformationSystem, id, ReadScope::All)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored.values["vpc_ids"], Value::IdList(vec![world.vpcs[0]]));
    let by_vpc = ListQuery {
        filters: vec![Filter {
            field: "vpc_ids",
            value: Value::Int(world.vpcs[0]),
        }],
        ..ListQuery::default()
    };
    assert_eq!(
        store
            .list(Kind::InformationSystem, &by_vpc, ReadScope::All)
            .await
            .expect("list")
            .total,
        1
    );

    let mut tx = store.begin_write().await.expect("begin");
    let vpc_ids = Kind::InformationSystem
        .spec()
        .field("vpc_ids")
        .expect("field");
    assert_eq!(
        tx.count_references(Kind::InformationSystem, vpc_ids, world.vpcs[0])
            .await
            .expect("refs"),
        1
    );
    let mut moved = system.clone();
    moved.insert("vpc_ids", Value::IdList(vec![]));
    tx.update(Kind::InformationSystem, id, &moved, 2)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let stored = store
        .get(Kind::InformationSystem, id, ReadScope::All)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored.values["vpc_ids"], Value::IdList(vec![]));
    let mut tx = store.begin_write().await.expect("begin");
    tx.delete(Kind::InformationSystem, id)
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn the_demo_world_bulk_loads_and_ids_continue_after_it() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = generate(Scale::Small, 11);
    let mut tx = store.begin_write().await.expect("begin");
    for (kind, rows) in &world.kinds {
        tx.bulk_insert(*kind, &rows.rows, &rows.links, 1)
            .await
            .unwrap_or_else(|error| panic!("{kind:?}: {error}"));
    }
    tx.commit().await.expect("commit");
    for (kind, rows) in &world.kinds {
        assert_eq!(
            store.count(*kind, ReadScope::All).await.expect("count"),
            rows.rows.len() as i64,
            "{kind:?}"
        );
        let (id, values) = &rows.rows[rows.rows.len() / 2];
        let stored = store
            .get(*kind, *id, ReadScope::All)
            .await
            .expect("get")
            .expect("present");
        for (field, value) in values {
            assert_eq!(&stored.values[field], value, "{kind:?} {id} {field}");
        }
    }
    // A normal insert after the bulk load gets the next id (PostgreSQL's identity
    // sequence was advanced past the explicit ids).
    let mut tx = store.begin_write().await.expect("begin");
    let id = tx
        .insert(
            Kind::Zone,
            &values(&[("name", text("测试区")), ("zone_kind", text("internet"))]),
            2,
        )
        .await
        .expect("insert after bulk");
    assert_eq!(id, world.count(Kind::Zone) as i64 + 1);
}

#[tokio::test]
async fn accounts_are_bound_by_role_and_sessions_expire() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let account = |username: &'static str, role: Role, tenant: Option<i64>| NewAccount {
        username,
        display_name: None,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        role,
        tenant: tenant.map(TenantId),
        provider: None,
        must_change_password: false,
        person_id: username,
    };
    let mut tx = store.begin_write().await.expect("begin");
    let id = tx
        .insert_account(
            &account("edu-admin", Role::TenantAdmin, Some(world.tenants[0])),
            1,
        )
        .await
        .expect("tenant admin");
    tx.commit().await.expect("commit");
    // The store refuses accounts whose binding contradicts their role.
    for (username, role, tenant) in [
        ("unbound", Role::TenantAdmin, None),
        ("overbound", Role::SystemAdmin, Some(world.tenants[0])),
    ] {
        let mut tx = store.begin_write().await.expect("begin");
        assert!(
            tx.insert_account(&account(username, role, tenant), 1)
                .await
                .is_err(),
            "{username}"
        );
    }
    let mut tx = store.begin_write().await.expect("begin");
    assert!(matches!(
        tx.insert_account(&account("edu-admin", Role::Auditor, None), 1)
            .await,
        Err(StoreError::Conflict(_))
    ));
    drop(tx);
    let stored = store
        .account_by_username("edu-admin")
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(
        (stored.id, stored.role, stored.tenant),
        (id, Role::TenantAdmin, Some(TenantId(world.tenants[0])))
    );
    assert!(
        !format!("{stored:?}").contains("argon2"),
        "Debug redacts the hash"
    );

    let session = Session {
        token_digest: "d1".into(),
        account_id: id,
        csrf_token: "c1".into(),
        created_at_ns: 100,
        last_seen_at_ns: 100,
        expires_at_ns: 200,
        stepped_up_at_ns: None,
    };
    let mut tx = store.begin_write().await.expect("begin");
    tx.insert_session(&session, Some("127.0.0.1"))
        .await
        .expect("session");
    tx.commit().await.expect("commit");
    assert!(store.session("d1", 150).await.expect("lookup").is_some());
    assert!(
        store.session("d1", 200).await.expect("lookup").is_none(),
        "expired"
    );
    store.touch_session("d1", 190, 300).await.expect("touch");
    assert!(
        store.session("d1", 250).await.expect("lookup").is_some(),
        "slid"
    );
    let mut tx = store.begin_write().await.expect("begin");
    assert_eq!(tx.delete_expired_sessions(400).await.expect("sweep"), 1);
    tx.commit().await.expect("commit");
    assert!(store.session("d1", 250).await.expect("lookup").is_none());
}

/// Concurrent write transactions and session touches all succeed: on SQLite they queue
/// for the one writer instead of failing with SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_session_touches_never_fail() {
    let test = fresh_store().await;
    let store = test.store.clone();
    let world = small_world(&store).await;
    let mut tx = store.begin_write().await.expect("begin");
    let account = tx
        .insert_account(
            &NewAccount {
                username: "busy",
                display_name: None,
                password_hash: "x",
                role: Role::Supervisor,
                tenant: None,
                provider: None,
                must_change_password: false,
                person_id: "busy",
            },
            1,
        )
        .await
        .expect("account");
    tx.insert_session(
        &Session {
            token_digest: "busy".into(),
            account_id: account,
            csrf_token: "c".into(),
            created_at_ns: 1,
            last_seen_at_ns: 1,
            expires_at_ns: i64::MAX,
            stepped_up_at_ns: None,
        },
        None,
    )
    .await
    .expect("session");
    tx.commit().await.expect("commit");
    let mut tasks = Vec::new();
    for task in 0..16_i64 {
        let store = store.clone();
        let vpc = world.vpcs[0];
        let tenant = world.tenants[0];
        let provider = world.provider;
        tasks.push(tokio::spawn(async move {
            for round in 0..5_i64 {
                let index = task * 5 + round;
                // Read, then write, in one transaction: the pattern that makes SQLite
                // answer BUSY when another writer slips in between.
                let mut tx = store.begin_write().await?;
                tx.list(Kind::Subnet, &ListQuery::default(), ReadScope::All)
                    .await?;
                tx.insert(
                    Kind::Subnet,
                    &values(&[
                        ("vpc_id", Value::Int(vpc)),
                        ("name", text(&format!("s{index}"))),
                        ("cidr", text(&format!("10.1.{index}.0/24"))),
                        ("tenant_id", Value::Int(tenant)),
                        ("provider_id", Value::Int(provider)),
                    ]),
                    index,
                )
                .await?;
                tx.commit().await?;
                store.touch_session("busy", index, i64::MAX).await?;
                store.session("busy", index).await?;
            }
            Ok::<(), StoreError>(())
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("no write fails");
    }
    assert_eq!(
        store
            .count(Kind::Subnet, ReadScope::All)
            .await
            .expect("count"),
        80
    );
}

mod ledger {
    //! The stored ledger: dense sequence numbers in commit order (rolled-back records
    //! leave no gap), heads and proofs equal to the reference definitions, concurrent
    //! appenders, checkpoints kept, pruning that keeps proofs working.

    use yunjian_core::ledger::{
        consistency_proof, inclusion_proof, root, verify_inclusion, TreeHasher,
    };
    use yunjian_store::{
        AuditFilter, AuditOutcome, LedgerArchive, LedgerHash, NewAuditRecord, StoredCheckpoint,
    };
    use yunjian_testkit::fresh_store;

    fn record(i: u64) -> NewAuditRecord {
        let mut record =
            NewAuditRecord::new(1_000 + i as i64, "world.update", AuditOutcome::Succeeded);
        record.object_id = Some(i as i64);
        record.tenant_id = Some((i % 3) as i64);
        record
    }

    #[tokio::test]
    async fn sequence_numbers_are_dense_and_the_tree_is_the_reference_tree() {
        let test = fresh_store().await;
        let store = &test.store;
        // A rolled-back transaction's record takes no number.
        let mut tx = store.begin_write().await.expect("begin");
        assert_eq!(tx.append_audit(&record(99)).await.expect("append"), 0);
        drop(tx);
        let mut seqs = Vec::new();
        for chunk in (0..37u64).collect::<Vec<_>>().chunks(5) {
            let records: Vec<_> = chunk.iter().map(|i| record(*i)).collect();
            seqs.extend(store.append_audit_batch(&records).await.expect("batch"));
        }
        assert_eq!(seqs, (0..37).collect::<Vec<u64>>());
        let head = store
            .ledger_head()
            .await
            .expect("head")
            .expect("initialized");
        assert_eq!(head.size, 37);
        let stored = store.audit_range(0, 37, 100).await.expect("range");
        let leaves: Vec<_> = stored
            .iter()
            .map(|r| LedgerHash::Sm3.leaf(r.line.as_deref().expect("line").as_bytes()))
            .collect();
        assert_eq!(
            leaves,
            stored.iter().map(|r| r.leaf_hash).collect::<Vec<_>>()
        );
        assert_eq!(head.root, root(&LedgerHash::Sm3, &leaves));
        for size in [1u64, 2, 5, 16, 17, 36, 37] {
            assert_eq!(
                store.root_at(size).await.expect("root"),
                root(&LedgerHash::Sm3, &leaves[..size as usize])
            );
            for index in [0, size / 2, size - 1] {
                assert_eq!(
                    store.inclusion_proof(index, size).await.expect("proof"),
                    inclusion_proof(&LedgerHash::Sm3, &leaves[..size as usize], index as usize)
                        .expect("in range"),
                    "inclusion {index} in {size}"
                );
            }
            assert_eq!(
                store
                    .consistency_proof(size.div_ceil(2), 37)
                    .await
                    .expect("proof"),
                consistency_proof(&LedgerHash::Sm3, &leaves, size.div_ceil(2) as usize)
                    .expect("in range")
            );
        }
        assert!(store.inclusion_proof(37, 37).await.is_err());
        assert!(
            store.inclusion_proof(0, 38).await.is_err(),
            "beyond the log"
        );
        // Another hash for the same ledger is refused.
        assert!(store.init_ledger(LedgerHash::Sha256, "x").await.is_err());
    }

    #[tokio::test]
    async fn concurrent_appenders_get_distinct_dense_numbers() {
        let test = fresh_store().await;
        let store = test.store.clone();
        let mut tasks = Vec::new();
        for task in 0..8u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..10 {
                    let mut tx = store.begin_write().await.expect("begin");
                    let seq = tx
                        .append_audit(&record(task * 100 + i))
                        .await
                        .expect("append");
                    if i % 3 == 2 {
                        drop(tx); // rolled back: its number is reused
                    } else {
                        tx.commit().await.expect("commit");
                        seqs.push(seq);
                    }
                }
                seqs
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("task"));
        }
        all.sort_unstable();
        assert_eq!(all, (0..all.len() as u64).collect::<Vec<_>>());
        let head = store.ledger_head().await.expect("head").expect("head");
        let stored = store.audit_range(0, head.size, 1000).await.expect("range");
        let leaves: Vec<_> = stored.iter().map(|r| r.leaf_hash).collect();
        assert_eq!(head.root, root(&LedgerHash::Sm3, &leaves));
    }

    #[tokio::test]
    async fn checkpoints_are_kept_and_pruning_keeps_proofs() {
        let test = fresh_store().await;
        let store = &test.store;
        let records: Vec<_> = (0..20).map(record).collect();
        store.append_audit_batch(&records).await.expect("append");
        let mut tx = store.begin_write().await.expect("begin");
        let key = tx
            .insert_ledger_key("test", "test+00000000+AA==", "sealed", 1)
            .await
            .expect("key");
        let head = store.ledger_head().await.expect("head").expect("head");
        let checkpoint = StoredCheckpoint {
            size: 20,
            root: head.root,
            at_ns: 5,
            key_id: key,
            note: "note".into(),
        };
        assert!(tx.insert_checkpoint(&checkpoint).await.expect("insert"));
        assert!(
            !tx.insert_checkpoint(&checkpoint).await.expect("again"),
            "one per size"
        );
        tx.commit().await.expect("commit");
        assert_eq!(
            store.latest_checkpoint().await.expect("latest"),
            Some(checkpoint)
        );
        let proof_before = store.inclusion_proof(15, 20).await.expect("proof");
        let mut tx = store.begin_write().await.expect("begin");
        let archive = LedgerArchive {
            id: 0,
            from_seq: 0,
            to_seq: 10,
            before_ns: 1_010,
            checkpoint_size: 20,
            bundle_sm3: "sm3:00".into(),
            file_name: "a.tar".into(),
            created_at_ns: 6,
            pruned_at_ns: None,
        };
        let id = tx.insert_archive(&archive).await.expect("archive");
        assert_eq!(tx.prune_archived(id, 10, 7).await.expect("prune"), 10);
        tx.commit().await.expect("commit");
        let pruned = store
            .audit_record(3)
            .await
            .expect("read")
            .expect("row stays");
        assert_eq!(pruned.line, None);
        assert_eq!(
            store.inclusion_proof(15, 20).await.expect("proof"),
            proof_before
        );
        let leaf = store
            .audit_record(15)
            .await
            .expect("read")
            .expect("row")
            .leaf_hash;
        verify_inclusion(&LedgerHash::Sm3, 15, 20, &leaf, &proof_before, &head.root)
            .expect("verifies");
        let archives = store.ledger_archives().await.expect("archives");
        assert_eq!(archives[0].pruned_at_ns, Some(7));
        // Filters: tenant, outcome and paging by sequence number.
        let page = store
            .audit_records(&AuditFilter {
                tenant_id: Some(1),
                before_seq: Some(19),
                limit: 3,
                ..AuditFilter::default()
            })
            .await
            .expect("page");
        assert_eq!(
            page.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![16, 13, 10]
        );
    }
}

mod separation;

/// A provider's own id is unique per provider and kind (migration 9's partial index);
/// objects without one never clash, and two providers may use the same id.
#[tokio::test]
async fn external_ids_are_unique_per_provider() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let datacenter = |name: &str, provider: i64, external: Option<&str>| {
        values(&[
            ("provider_id", Value::Int(provider)),
            ("name", text(name)),
            ("address", text("重庆市")),
            ("latitude", Value::Float(29.7)),
            ("longitude", Value::Float(106.5)),
            ("datum", text("wgs84")),
            ("external_id", external.map_or(Value::Null, text)),
        ])
    };
    let mut tx = store.begin_write().await.expect("begin");
    tx.insert(
        Kind::Datacenter,
        &datacenter("a", world.provider, Some("x-1")),
        1,
    )
    .await
    .expect("first");
    tx.insert(Kind::Datacenter, &datacenter("b", world.provider, None), 1)
        .await
        .expect("no id");
    tx.insert(Kind::Datacenter, &datacenter("c", world.provider, None), 1)
        .await
        .expect("no id again");
    tx.commit().await.expect("commit");
    let mut tx = store.begin_write().await.expect("begin");
    let refused = tx
        .insert(
            Kind::Datacenter,
            &datacenter("d", world.provider, Some("x-1")),
            1,
        )
        .await;
    assert!(
        matches!(refused, Err(yunjian_store::StoreError::Conflict(_))),
        "{refused:?}"
    );
}

/// A float parameter first bound as NULL and then with a value, on one connection: sqlx
/// 0.8.6's Any driver binds a NULL double as a 4-byte float, and PostgreSQL's cached
/// statement then refused the 8-byte value ("incorrect binary data format"), which
/// lost event-centre alerts and connector health on PostgreSQL.
#[tokio::test]
async fn a_float_parameter_bound_null_then_with_a_value_is_stored() {
    let test = fresh_store().await;
    let store = &test.store;
    let world = small_world(store).await;
    let health = |latency_ms: Option<f64>| yunjian_store::HealthRecord {
        provider_id: world.provider,
        connector: "push".into(),
        last_attempt_at_ns: Some(20),
        last_success_at_ns: None,
        latency_ms,
        last_error: None,
        failures: 0,
        next_attempt_at_ns: None,
        objects: 0,
    };
    let mut tx = store.begin_write().await.expect("begin");
    tx.put_health(&health(None)).await.expect("null latency");
    tx.put_health(&health(Some(12.5)))
        .await
        .expect("a latency after a null one");
    tx.commit().await.expect("commit");
    let stored = store
        .connector_health(Some(world.provider))
        .await
        .expect("health");
    assert_eq!(stored[0].latency_ms, Some(12.5));
}
