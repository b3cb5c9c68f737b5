//! The snapshot planner: what a provider's snapshot changes, and what it may not.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use serde_json::{json, Value};
use yunjian_connectors::sync::{self, Coverage, Current, Existing, Mode, Plan, PushedObject};
use yunjian_core::schema::{FieldType, Kind};
use yunjian_core::value::Value as Field;

fn objects(items: Value) -> Vec<PushedObject> {
    sync::parse_chunk(0, json!({ "objects": items }).to_string().as_bytes())
        .unwrap_or_else(|problems| panic!("{problems:?}"))
}

fn current(rows: Vec<Existing>) -> Current {
    Current {
        provider_id: 5,
        rows,
        zones: HashMap::from([("互联网区".to_owned(), 1), ("政务外网区".to_owned(), 2)]),
        projects: HashMap::from([("p-edu".to_owned(), 21), ("p-civil".to_owned(), 22)]),
    }
}

/// What the store would hold after a plan: ids handed out in order.
fn apply(before: &Current, plan: &Plan) -> Current {
    let deleted: HashSet<i64> = plan.deletes.iter().map(|delete| delete.id).collect();
    let mut rows: Vec<Existing> = before
        .rows
        .iter()
        .filter(|row| !deleted.contains(&row.id))
        .map(
            |row| match plan.updates.iter().find(|update| update.id == row.id) {
                Some(update) => Existing {
                    values: update.values.clone(),
                    revision: row.revision + 1,
                    ..row.clone()
                },
                None => row.clone(),
            },
        )
        .collect();
    let first = rows.iter().map(|row| row.id).max().unwrap_or(0) + 1;
    let mut real = HashMap::new();
    for (next, create) in (first..).zip(&plan.creates) {
        let mut values = create.values.clone();
        let real_id = |id: i64| if id < 0 { real[&id] } else { id };
        for field in create.kind.spec().fields {
            match (field.ty, values.get_mut(field.name)) {
                (FieldType::Ref(_), Some(Field::Int(id))) => *id = real_id(*id),
                (FieldType::RefList(_), Some(Field::IdList(ids))) => {
                    ids.iter_mut().for_each(|id| *id = real_id(*id));
                    ids.sort_unstable();
                }
                _ => {}
            }
        }
        real.insert(create.provisional, next);
        rows.push(Existing {
            id: next,
            revision: 1,
            kind: create.kind,
            external_id: create.external_id.clone(),
            values,
        });
    }
    Current {
        rows,
        ..before.clone()
    }
}

fn world(memory: &[i64]) -> Value {
    let mut items = vec![
        json!({"kind": "vpc", "id": "v1", "project": "p-edu", "fields": {"name": "edu", "zone_id": "政务外网区", "cidrs": ["10.1.0.0/16"]}}),
        json!({"kind": "subnet", "id": "s1", "fields": {"name": "a", "vpc_id": "v1", "cidr": "10.1.1.0/24"}}),
    ];
    for (index, memory) in memory.iter().enumerate() {
        items.push(
            json!({"kind": "vm", "id": format!("vm-{index}"), "fields": {
            "name": format!("vm-{index}"), "vpc_id": "v1", "subnet_id": "s1", "vcpus": 2,
            "memory_mib": memory, "status": "running"}}),
        );
    }
    Value::Array(items)
}

#[test]
fn references_resolve_within_the_snapshot_and_ownership_comes_from_the_mapping() {
    let plan = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(world(&[1024])),
        &Coverage::everything(),
    )
    .expect("plan");
    assert_eq!(plan.creates.len(), 3);
    let vm = plan
        .creates
        .iter()
        .find(|create| create.kind == Kind::Vm)
        .expect("vm");
    // Derived from the VPC: tenant from the project mapping, provider from the key.
    assert_eq!(vm.values["tenant_id"], Field::Int(21));
    assert_eq!(vm.values["provider_id"], Field::Int(5));
    assert!(
        vm.values["vpc_id"].as_int().expect("vpc") < 0,
        "a new VPC's provisional id"
    );
}

#[test]
fn a_snapshot_cannot_name_what_it_does_not_hold_or_set_ownership() {
    let refused = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(json!([
            {"kind": "subnet", "id": "s1", "fields": {"name": "a", "vpc_id": "someone-elses", "cidr": "10.1.1.0/24"}},
            {"kind": "vpc", "id": "v2", "project": "p-edu", "fields": {"name": "x", "zone_id": "不存在区", "cidrs": ["10.2.0.0/16"]}},
        ])),
        &Coverage::everything(),
    )
    .expect_err("refused");
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .any(|problem| problem.code == "unknown_reference" && problem.index == 0));
    assert!(refused
        .iter()
        .any(|problem| problem.code == "unknown_zone" && problem.index == 1));
    let owned = sync::parse_chunk(
        0,
        br#"{"objects": [{"kind": "vpc", "id": "v", "fields": {"tenant_id": 3, "provider_id": 9, "name": "x", "zone_id": "z", "cidrs": []}}]}"#,
    )
    .expect_err("refused");
    assert_eq!(
        owned
            .iter()
            .filter(|problem| problem.code == "not_pushed")
            .count(),
        2
    );
    // A VM's security groups are the provider's ids, never read as ours.
    let groups = sync::parse_chunk(
        0,
        br#"{"objects": [{"kind": "vm", "id": "i-1", "fields": {"vpc_id": "v", "subnet_id": "s", "name": "x", "vcpus": 2, "memory_mib": 2048, "status": "running", "security_group_ids": [1, 2]}}]}"#,
    )
    .expect_err("refused");
    assert!(
        groups
            .iter()
            .any(|problem| problem.code == "invalid_reference"
                && problem.field.as_deref() == Some("security_group_ids")),
        "{groups:?}"
    );
    // Duplicates in one snapshot, deletions in a full one.
    let duplicate = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(json!([
            {"kind": "host", "id": "h", "deleted": true},
            {"kind": "host", "id": "h", "deleted": true},
        ])),
        &Coverage::everything(),
    )
    .expect_err("refused");
    assert!(duplicate
        .iter()
        .any(|problem| problem.code == "duplicate_id"));
    assert!(duplicate
        .iter()
        .any(|problem| problem.code == "deleted_in_full"));
}

#[test]
fn unmapped_projects_are_set_aside_with_everything_that_needs_them() {
    let plan = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(json!([
            {"kind": "vpc", "id": "v9", "project": "p-unknown", "fields": {"name": "x", "zone_id": "互联网区", "cidrs": ["10.9.0.0/16"]}},
            {"kind": "subnet", "id": "s9", "fields": {"name": "a", "vpc_id": "v9", "cidr": "10.9.1.0/24"}},
        ])),
        &Coverage::everything(),
    )
    .expect("plan");
    assert!(plan.creates.is_empty());
    assert_eq!(plan.unassigned.len(), 2);
    assert!(plan.unassigned[1].reason.contains("v9"));
}

#[test]
fn what_could_not_be_read_is_kept_not_deleted() {
    let first = current(Vec::new());
    let plan = sync::plan(
        &first,
        Mode::Full,
        &objects(world(&[1024, 2048])),
        &Coverage::everything(),
    )
    .expect("plan");
    let stored = apply(&first, &plan);
    let without_vm1 = objects(world(&[1024]));
    let gone =
        sync::plan(&stored, Mode::Full, &without_vm1, &Coverage::everything()).expect("plan");
    assert_eq!(gone.deletes.len(), 1);
    let keep = Coverage {
        unreadable: HashSet::from([(Kind::Vm, "vm-1".to_owned())]),
        ..Coverage::everything()
    };
    let kept = sync::plan(&stored, Mode::Full, &without_vm1, &keep).expect("plan");
    assert!(kept.is_empty());
    // A snapshot that does not speak for VMs deletes none.
    let subnets_only = Coverage {
        kinds: vec![Kind::Vpc, Kind::Subnet],
        unreadable: HashSet::new(),
    };
    assert!(sync::plan(&stored, Mode::Full, &without_vm1, &subnets_only)
        .expect("plan")
        .is_empty());
}

#[test]
fn incremental_snapshots_upsert_and_delete_by_name_only() {
    let first = current(Vec::new());
    let stored = apply(
        &first,
        &sync::plan(
            &first,
            Mode::Full,
            &objects(world(&[1024, 2048])),
            &Coverage::everything(),
        )
        .expect("plan"),
    );
    let plan = sync::plan(
        &stored,
        Mode::Incremental,
        &objects(json!([
            {"kind": "vm", "id": "vm-0", "deleted": true},
            {"kind": "vm", "id": "vm-9", "fields": {"name": "new", "vpc_id": "v1", "subnet_id": "s1", "vcpus": 1, "memory_mib": 512, "status": "stopped"}},
        ])),
        &Coverage::everything(),
    )
    .expect("plan");
    assert_eq!(
        (plan.deletes.len(), plan.creates.len(), plan.updates.len()),
        (1, 1, 0)
    );
    assert!(
        plan.creates[0].values["vpc_id"].as_int().expect("id") > 0,
        "an existing VPC"
    );
}

#[test]
fn a_project_mapped_to_another_tenant_moves_its_objects_as_new_rows() {
    let first = current(Vec::new());
    let stored = apply(
        &first,
        &sync::plan(
            &first,
            Mode::Full,
            &objects(world(&[1024])),
            &Coverage::everything(),
        )
        .expect("plan"),
    );
    // The management unit maps the project to the other tenant.
    let mut remapped = stored.clone();
    remapped.projects.insert("p-edu".into(), 22);
    let plan = sync::plan(
        &remapped,
        Mode::Full,
        &objects(world(&[1024])),
        &Coverage::everything(),
    )
    .expect("plan");
    // Ownership never changes in place: the VPC, its subnet and VM are deleted and
    // created again under the new tenant, never updated.
    assert!(plan.updates.is_empty(), "{:?}", plan.updates);
    assert_eq!(plan.deletes.len(), 3);
    assert_eq!(plan.creates.len(), 3);
    assert!(plan
        .creates
        .iter()
        .all(|create| create.values["tenant_id"] == Field::Int(22)));
    // Dependants are deleted before what they depend on.
    assert_eq!(
        plan.deletes.first().map(|delete| delete.kind),
        Some(Kind::Vm)
    );
    assert_eq!(
        plan.deletes.last().map(|delete| delete.kind),
        Some(Kind::Vpc)
    );
}

/// Two VPCs of one tenant, groups in each, and a VM listing `groups`.
fn grouped(groups: &[&str]) -> Value {
    json!([
        {"kind": "vpc", "id": "v1", "project": "p-edu", "fields": {"name": "edu", "zone_id": "政务外网区", "cidrs": ["10.1.0.0/16"]}},
        {"kind": "vpc", "id": "v2", "project": "p-edu", "fields": {"name": "edu-2", "zone_id": "政务外网区", "cidrs": ["10.2.0.0/16"]}},
        {"kind": "subnet", "id": "s1", "fields": {"name": "a", "vpc_id": "v1", "cidr": "10.1.1.0/24"}},
        {"kind": "security_group", "id": "web", "fields": {"name": "web", "vpc_id": "v1"}},
        {"kind": "security_group", "id": "ssh", "fields": {"name": "ssh", "vpc_id": "v1"}},
        {"kind": "security_group", "id": "other", "fields": {"name": "other", "vpc_id": "v2"}},
        {"kind": "vm", "id": "i-1", "fields": {"name": "web-1", "vpc_id": "v1", "subnet_id": "s1",
         "vcpus": 2, "memory_mib": 2048, "status": "running", "security_group_ids": groups}},
    ])
}

fn group_ids(current: &Current, keys: &[&str]) -> Vec<i64> {
    let mut ids: Vec<i64> = keys
        .iter()
        .map(|key| {
            current
                .rows
                .iter()
                .find(|row| row.kind == Kind::SecurityGroup && row.external_id == *key)
                .expect("group")
                .id
        })
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn list_references_resolve_compare_as_sets_and_agree_with_the_vpc() {
    let empty = current(Vec::new());
    let plan = sync::plan(
        &empty,
        Mode::Full,
        &objects(grouped(&["web", "ssh"])),
        &Coverage::everything(),
    )
    .expect("plan");
    let vm = plan
        .creates
        .iter()
        .find(|create| create.kind == Kind::Vm)
        .expect("vm");
    let Some(Field::IdList(provisional)) = vm.values.get("security_group_ids") else {
        panic!("no list: {:?}", vm.values);
    };
    assert_eq!(provisional.len(), 2);
    assert!(
        provisional.iter().all(|id| *id < 0),
        "new groups' provisional ids"
    );
    let stored = apply(&empty, &plan);
    let row = |current: &Current| {
        current
            .rows
            .iter()
            .find(|row| row.kind == Kind::Vm)
            .expect("vm")
            .values["security_group_ids"]
            .clone()
    };
    assert_eq!(
        row(&stored),
        Field::IdList(group_ids(&stored, &["ssh", "web"]))
    );

    // Order and repeats do not matter: the same set is no change.
    let again = sync::plan(
        &stored,
        Mode::Full,
        &objects(grouped(&["web", "ssh", "web"])),
        &Coverage::everything(),
    )
    .expect("plan");
    assert!(again.is_empty(), "{again:?}");

    // A group dropped is a change of the one field; omitting the list empties it.
    for (keys, expected) in [(vec!["web"], vec!["web"]), (vec![], vec![])] {
        let mut items = grouped(&keys);
        if keys.is_empty() {
            items[6]["fields"]
                .as_object_mut()
                .expect("fields")
                .remove("security_group_ids");
        }
        let diff = sync::plan(
            &stored,
            Mode::Full,
            &objects(items),
            &Coverage::everything(),
        )
        .expect("plan");
        assert_eq!(diff.updates.len(), 1, "{diff:?}");
        assert_eq!(diff.updates[0].changes.len(), 1);
        assert_eq!(diff.updates[0].changes[0].field, "security_group_ids");
        assert_eq!(
            diff.updates[0].changes[0].after,
            Field::IdList(group_ids(&stored, &expected))
        );
    }

    // Another VPC's group, a group nobody reported, and a group deleted by the same batch.
    let refused = sync::plan(
        &empty,
        Mode::Full,
        &objects(grouped(&["web", "other", "ghost"])),
        &Coverage::everything(),
    )
    .expect_err("refused");
    let codes: Vec<&str> = refused.iter().map(|problem| problem.code).collect();
    assert_eq!(codes, ["unknown_reference"], "{refused:?}");
    let refused = sync::plan(
        &empty,
        Mode::Full,
        &objects(grouped(&["web", "other"])),
        &Coverage::everything(),
    )
    .expect_err("refused");
    assert_eq!(refused[0].code, "reference_mismatch");
    assert_eq!(refused[0].field.as_deref(), Some("security_group_ids"));
    let refused = sync::plan(
        &stored,
        Mode::Incremental,
        &objects(json!([
            {"kind": "security_group", "id": "ssh", "deleted": true},
            {"kind": "vm", "id": "i-1", "fields": {"name": "web-1", "vpc_id": "v1", "subnet_id": "s1",
             "vcpus": 2, "memory_mib": 2048, "status": "running", "security_group_ids": ["web", "ssh"]}},
        ])),
        &Coverage::everything(),
    )
    .expect_err("refused");
    assert_eq!(refused[0].code, "unknown_reference");

    // Incremental: groups reported before resolve.
    let incremental = sync::plan(
        &stored,
        Mode::Incremental,
        &objects(json!([
            {"kind": "vm", "id": "i-2", "fields": {"name": "web-2", "vpc_id": "v1", "subnet_id": "s1",
             "vcpus": 2, "memory_mib": 2048, "status": "running", "security_group_ids": ["ssh"]}},
        ])),
        &Coverage::everything(),
    )
    .expect("plan");
    assert_eq!(
        incremental.creates[0].values["security_group_ids"],
        Field::IdList(group_ids(&stored, &["ssh"]))
    );
}

#[test]
fn a_vm_whose_group_is_set_aside_is_set_aside_too() {
    let mut items = grouped(&["web", "foreign"]);
    items.as_array_mut().expect("list").extend([
        json!({"kind": "vpc", "id": "v9", "project": "p-unmapped", "fields": {"name": "x", "zone_id": "政务外网区", "cidrs": ["10.9.0.0/16"]}}),
        json!({"kind": "security_group", "id": "foreign", "fields": {"name": "f", "vpc_id": "v9"}}),
    ]);
    let plan = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(items),
        &Coverage::everything(),
    )
    .expect("plan");
    let aside: Vec<&str> = plan
        .unassigned
        .iter()
        .map(|object| object.external_id.as_str())
        .collect();
    assert_eq!(aside, ["v9", "foreign", "i-1"]);
    assert!(plan.creates.iter().all(|create| create.kind != Kind::Vm));
}

#[test]
fn network_kinds_are_pushed_with_the_same_rules_as_an_operators_write() {
    let mut items = grouped(&["web"]);
    items.as_array_mut().expect("list").extend([
        json!({"kind": "network_acl", "id": "acl-1", "fields": {"name": "db", "vpc_id": "v1", "subnet_ids": ["s1"]}}),
        json!({"kind": "network_acl_rule", "id": "acl-1-r1", "fields": {"network_acl_id": "acl-1", "direction": "ingress",
         "position": 10, "action": "deny", "protocol": "tcp", "port_from": 3306, "port_to": 3306, "remote_cidr": "0.0.0.0/0"}}),
        json!({"kind": "firewall_rule", "id": "fw-1", "project": "p-edu", "fields": {"name": "out", "position": 1,
         "action": "allow", "protocol": "any", "source_cidr": "10.1.0.0/16", "destination_cidr": "10.2.0.0/16"}}),
        json!({"kind": "vpc_peering", "id": "pcx-1", "fields": {"name": "p", "vpc_id": "v1", "peer_vpc_id": "v2"}}),
        json!({"kind": "route", "id": "rt-1", "fields": {"vpc_id": "v1", "destination": "10.2.0.0/16",
         "next_hop": "peering", "peering_id": "pcx-1"}}),
    ]);
    let plan = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(items.clone()),
        &Coverage::everything(),
    )
    .expect("plan");
    let kinds: HashSet<Kind> = plan.creates.iter().map(|create| create.kind).collect();
    for kind in [
        Kind::NetworkAcl,
        Kind::NetworkAclRule,
        Kind::FirewallRule,
        Kind::VpcPeering,
        Kind::Route,
    ] {
        assert!(kinds.contains(&kind), "{kind:?}");
    }
    let firewall = plan
        .creates
        .iter()
        .find(|create| create.kind == Kind::FirewallRule)
        .expect("firewall rule");
    assert_eq!(firewall.values["tenant_id"], Field::Int(21));
    assert_eq!(firewall.values["provider_id"], Field::Int(5));

    // A reversed port range, a peering route without its peering, an ACL bound to
    // another VPC's subnet: each refused with the operator's rule.
    let mut bad = items;
    bad[8]["fields"]["port_to"] = json!(22);
    bad[11]["fields"]
        .as_object_mut()
        .expect("route")
        .remove("peering_id");
    bad.as_array_mut().expect("list").extend([
        json!({"kind": "subnet", "id": "s2", "fields": {"name": "b", "vpc_id": "v2", "cidr": "10.2.1.0/24"}}),
        json!({"kind": "network_acl", "id": "acl-2", "fields": {"name": "x", "vpc_id": "v1", "subnet_ids": ["s2"]}}),
    ]);
    let refused = sync::plan(
        &current(Vec::new()),
        Mode::Full,
        &objects(bad),
        &Coverage::everything(),
    )
    .expect_err("refused");
    let mut codes: Vec<&str> = refused.iter().map(|problem| problem.code).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "invalid_port_range",
            "peering_required",
            "reference_mismatch"
        ],
        "{refused:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applying a snapshot and planning it again changes nothing; changing some VMs
    /// changes exactly those, field by field.
    #[test]
    fn a_snapshot_applied_twice_changes_nothing_the_second_time(
        memory in proptest::collection::vec(128i64..65_536, 0..40),
        touched in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let first = current(Vec::new());
        let plan = sync::plan(&first, Mode::Full, &objects(world(&memory)), &Coverage::everything()).expect("plan");
        prop_assert_eq!(plan.creates.len(), memory.len() + 2);
        let stored = apply(&first, &plan);
        let again = sync::plan(&stored, Mode::Full, &objects(world(&memory)), &Coverage::everything()).expect("plan");
        prop_assert!(again.is_empty());
        prop_assert_eq!(again.unchanged, memory.len() + 2);
        let changed: Vec<i64> = memory.iter().zip(&touched)
            .map(|(memory, touch)| if *touch { memory + 1 } else { *memory }).collect();
        let diff = sync::plan(&stored, Mode::Full, &objects(world(&changed)), &Coverage::everything()).expect("plan");
        let expected = memory.iter().zip(&touched).filter(|(_, touch)| **touch).count();
        prop_assert_eq!(diff.updates.len(), expected);
        for update in &diff.updates {
            prop_assert_eq!(update.changes.len(), 1);
            prop_assert_eq!(update.changes[0].field, "memory_mib");
        }
    }

    /// No input makes the chunk reader panic; whatever it refuses it explains.
    #[test]
    fn any_bytes_are_read_or_refused_with_a_reason(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match sync::parse_chunk(0, &bytes) {
            Ok(objects) => prop_assert!(objects.len() <= sync::MAX_OBJECTS_PER_CHUNK),
            Err(problems) => prop_assert!(!problems.is_empty() && problems.iter().all(|p| !p.reason.is_empty())),
        }
    }

    /// Objects with arbitrary JSON fields: refused with reasons or read, never a panic.
    #[test]
    fn arbitrary_objects_are_read_or_refused(kind in prop_oneof![Just("vm"), Just("vpc"), Just("image"), Just("host"), Just("nope")],
                                             value in prop_oneof![Just(json!(null)), Just(json!(-1)), Just(json!("x")), Just(json!([1])), Just(json!({"a": 1}))]) {
        let item = json!({"kind": kind, "id": "x", "fields": {"name": value.clone(), "vcpus": value.clone(), "cidrs": value.clone(), "digest": value}});
        let _ = sync::parse_object(0, &item);
    }
}

/// docs/provider-api.md stays true: every pushed kind has its section, listing every
/// field a provider may send.
#[test]
fn the_published_api_lists_every_kind_and_field() {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../docs/provider-api.md");
    let text = std::fs::read_to_string(&path).expect("docs/provider-api.md");
    for kind in sync::PUSHED_KINDS {
        let spec = kind.spec();
        let heading = format!("### `{}`", spec.id);
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no section {heading}"));
        let rest = &text[start + heading.len()..];
        let section = &rest[..rest.find("\n### ").unwrap_or(rest.len())];
        for field in spec.input_fields() {
            if ["provider_id", "tenant_id", "system_id", "external_id"].contains(&field.name) {
                continue;
            }
            assert!(
                section.contains(&format!("| `{}` |", field.name)),
                "{heading} does not list '{}'",
                field.name
            );
        }
    }
}
