use std::collections::{HashMap, HashSet};

use super::{generate, Scale};
use crate::rules::check_object;
use crate::schema::{FieldType, Kind, Presence};
use crate::value::{parse_field, Value};

#[test]
fn the_same_seed_gives_the_same_world_and_another_seed_another() {
    let a = generate(Scale::Small, 7);
    let b = generate(Scale::Small, 7);
    let c = generate(Scale::Small, 8);
    for kind in Kind::ALL {
        assert_eq!(a.rows(kind).rows, b.rows(kind).rows, "{kind:?}");
    }
    assert_ne!(a.rows(Kind::Vm).rows, c.rows(Kind::Vm).rows);
}

#[test]
fn the_small_world_has_the_promised_shape() {
    let world = generate(Scale::Small, 1);
    assert_eq!(world.count(Kind::Zone), 2);
    assert_eq!(world.count(Kind::Provider), 3);
    assert_eq!(world.count(Kind::Gateway), 1);
    assert_eq!(world.count(Kind::Vm), 5_000);
    assert_eq!(world.count(Kind::Tenant), 40);
    let systems = world.count(Kind::InformationSystem);
    assert!((250..=350).contains(&systems), "{systems} systems");
    let levels: HashSet<i64> = world
        .rows(Kind::InformationSystem)
        .rows
        .iter()
        .filter_map(|(_, values)| values["mlps_level"].as_int())
        .collect();
    assert_eq!(levels, HashSet::from([2, 3]));
    let remote_sites = world
        .rows(Kind::Datacenter)
        .rows
        .iter()
        .filter(|(_, values)| values["remote_backup_site"] == Value::Bool(true))
        .count();
    assert_eq!(remote_sites, 1);
    assert_ne!(world.admin_tenants[0].0, world.admin_tenants[1].0);
    let flaws: Vec<&str> = world.planted.iter().map(|flaw| flaw.what).collect();
    assert!(flaws.iter().any(|what| what.contains("single carrier")));
    assert!(flaws.iter().any(|what| what.contains("SSH open")));
    assert!(flaws.iter().any(|what| what.contains("internet-zone VM")));
}

/// Every generated row passes the same field validation and per-kind rules as operator
/// input, every reference points at an existing row, derived columns equal their source
/// and agreements hold: the demo bypasses nothing the API would refuse.
#[test]
fn every_demo_row_is_valid_input() {
    let world = generate(Scale::Small, 3);
    let mut index: HashMap<Kind, HashMap<i64, &crate::value::Values>> = HashMap::new();
    for (kind, rows) in &world.kinds {
        let table = index.entry(*kind).or_default();
        for (id, values) in &rows.rows {
            table.insert(*id, values);
        }
    }
    for (kind, rows) in &world.kinds {
        let spec = kind.spec();
        for (id, values) in &rows.rows {
            for field in spec.column_fields() {
                let value = values
                    .get(field.name)
                    .unwrap_or_else(|| panic!("{} {id} lacks {}", spec.id, field.name));
                if !value.is_null() {
                    let reparsed = parse_field(field, &value.to_json())
                        .unwrap_or_else(|e| panic!("{} {id}: {e:?}", spec.id));
                    assert_eq!(
                        &reparsed, value,
                        "{} {id} {} not canonical",
                        spec.id, field.name
                    );
                } else {
                    assert_ne!(
                        field.presence,
                        Presence::Required,
                        "{} {id} {}",
                        spec.id,
                        field.name
                    );
                }
                if let (FieldType::Ref(target), Value::Int(target_id)) = (field.ty, value) {
                    let target_row = index[&target]
                        .get(target_id)
                        .unwrap_or_else(|| panic!("{} {id}.{} dangles", spec.id, field.name));
                    if let Presence::Derived { via, column } = field.presence {
                        let source = index[&match spec.field(via).map(|f| f.ty) {
                            Some(FieldType::Ref(k)) => k,
                            _ => unreachable!(),
                        }][&values[via].as_int().expect("ref")];
                        assert_eq!(
                            &source[column], value,
                            "{} {id} derived {}",
                            spec.id, field.name
                        );
                    }
                    let _ = target_row;
                }
            }
            for agreement in spec.agreements {
                let Some(target_id) = values.get(agreement.field).and_then(Value::as_int) else {
                    continue;
                };
                let target = match spec.field(agreement.field).map(|f| f.ty) {
                    Some(FieldType::Ref(k)) => k,
                    _ => continue,
                };
                let target_row = index[&target][&target_id];
                assert_eq!(
                    target_row[agreement.target_column], values[agreement.equals],
                    "{} {id}: {} disagrees",
                    spec.id, agreement.field
                );
            }
            assert!(check_object(*kind, values).is_empty(), "{} {id}", spec.id);
        }
        for (owner, target) in &rows.links {
            let (field, link) = spec.link_fields().next().expect("a kind with links");
            assert!(index[kind].contains_key(owner));
            assert!(index[&link.target].contains_key(target), "{}", spec.id);
            // Agreements hold for list references too (a VM's groups are its VPC's).
            for agreement in spec.agreements.iter().filter(|a| a.field == field.name) {
                assert_eq!(
                    index[&link.target][target][agreement.target_column],
                    index[kind][owner][agreement.equals],
                    "{} {owner}: {} disagrees",
                    spec.id,
                    field.name
                );
            }
        }
    }
}
