use super::{FieldType, Kind, Presence, ProviderAccess, TenantAccess};

#[test]
fn every_kind_parses_from_its_identifier_and_table() {
    for kind in Kind::ALL {
        let spec = kind.spec();
        assert_eq!(spec.kind, kind);
        assert_eq!(Kind::parse(spec.id), Some(kind));
        assert_eq!(Kind::parse(spec.table), Some(kind));
        assert_eq!(Kind::from_table(spec.table), Some(kind));
    }
    assert_eq!(Kind::parse("accounts"), None);
    assert_eq!(
        Kind::from_table("vpc"),
        None,
        "paths name collections, not kinds"
    );
}

#[test]
fn field_names_are_unique_and_never_shadow_the_bookkeeping_columns() {
    for kind in Kind::ALL {
        let spec = kind.spec();
        let mut names: Vec<&str> = spec.fields.iter().map(|field| field.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "{} repeats a field", spec.id);
        for reserved in ["id", "created_at", "updated_at", "revision"] {
            assert!(
                spec.field(reserved).is_none(),
                "{} shadows {reserved}",
                spec.id
            );
        }
    }
}

#[test]
fn scoping_columns_exist_on_the_kind_they_scope() {
    for kind in Kind::ALL {
        let spec = kind.spec();
        let column = match spec.tenant_access {
            TenantAccess::Column(column) | TenantAccess::ColumnOrShared(column) => Some(column),
            _ => None,
        };
        if let Some(column) = column {
            assert!(
                column == "id" || spec.field(column).is_some(),
                "{}: tenant column {column} is not a field",
                spec.id
            );
        }
        if let ProviderAccess::Column(column) = spec.provider_access {
            assert!(
                column == "id" || spec.field(column).is_some(),
                "{}: provider column {column} is not a field",
                spec.id
            );
        }
    }
}

#[test]
fn derived_fields_name_a_reference_whose_target_has_the_column() {
    for kind in Kind::ALL {
        let spec = kind.spec();
        for field in spec.fields {
            let Presence::Derived { via, column } = field.presence else {
                continue;
            };
            let via_field = spec
                .field(via)
                .unwrap_or_else(|| panic!("{}.{via}", spec.id));
            let FieldType::Ref(target) = via_field.ty else {
                panic!("{}.{via} is not a reference", spec.id);
            };
            assert!(
                target.spec().field(column).is_some(),
                "{}.{} derives from {}.{column}, which does not exist",
                spec.id,
                field.name,
                target.spec().id
            );
        }
    }
}

#[test]
fn agreements_and_unique_sets_and_list_columns_name_real_fields() {
    for kind in Kind::ALL {
        let spec = kind.spec();
        for agreement in spec.agreements {
            let field = spec.field(agreement.field).expect("agreement field");
            let target = match field.ty {
                FieldType::Ref(target) => target,
                FieldType::RefList(link) => link.target,
                _ => panic!("{}.{} is not a reference", spec.id, agreement.field),
            };
            assert!(target.spec().field(agreement.target_column).is_some());
            assert!(spec.field(agreement.equals).is_some());
        }
        for set in spec.unique {
            for name in *set {
                assert!(spec.field(name).is_some(), "{}: unique {name}", spec.id);
            }
        }
        for name in spec.list_columns {
            assert!(
                spec.field(name).is_some(),
                "{}: list column {name}",
                spec.id
            );
        }
        assert!(
            spec.field("name").is_some()
                || matches!(
                    kind,
                    Kind::SecurityGroupRule
                        | Kind::NetworkAclRule
                        | Kind::ExchangeRule
                        | Kind::Route
                ),
            "{}",
            spec.id
        );
    }
}

#[test]
fn referrers_of_a_vpc_include_subnets_vms_and_system_links() {
    let referrers: Vec<(&str, &str)> = Kind::Vpc
        .referrers()
        .into_iter()
        .map(|(kind, field)| (kind.as_str(), field.name))
        .collect();
    assert!(referrers.contains(&("subnet", "vpc_id")));
    assert!(referrers.contains(&("vm", "vpc_id")));
    assert!(referrers.contains(&("information_system", "vpc_ids")));
}
