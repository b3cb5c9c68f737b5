use serde_json::json;

use super::{parse_input, InputMode, Value};
use crate::schema::Kind;

fn errors_of(kind: Kind, input: serde_json::Value) -> Vec<(String, &'static str)> {
    let map = input.as_object().expect("object").clone();
    match parse_input(kind.spec(), &map, InputMode::Create) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
    }
}

#[test]
fn a_complete_vpc_parses_and_cidrs_are_canonical_and_sorted() {
    let map = json!({"tenant_id": 1, "provider_id": 2, "zone_id": 3, "name": " 办公VPC ",
                     "cidrs": ["10.2.0.0/16", "10.1.0.0/16", "10.1.0.0/16"]});
    let values = parse_input(
        Kind::Vpc.spec(),
        map.as_object().expect("object"),
        InputMode::Create,
    )
    .expect("valid");
    assert_eq!(values["name"], Value::Text("办公VPC".into()));
    assert_eq!(
        values["cidrs"],
        Value::TextList(vec!["10.1.0.0/16".into(), "10.2.0.0/16".into()])
    );
    assert_eq!(values["description"], Value::Null);
}

#[test]
fn errors_name_each_bad_field_with_a_stable_code() {
    let errors = errors_of(
        Kind::Vpc,
        json!({"tenant_id": 0, "provider_id": "2", "name": "x", "cidrs": ["10.0.0.5/16"], "colour": 1}),
    );
    assert_eq!(
        errors,
        vec![
            ("colour".to_string(), "unknown_field"),
            ("tenant_id".to_string(), "expected_id"),
            ("provider_id".to_string(), "expected_id"),
            ("zone_id".to_string(), "required"),
            ("cidrs".to_string(), "invalid_cidr"),
        ]
    );
}

#[test]
fn mlps_level_outside_one_to_four_is_refused() {
    let base = json!({"tenant_id": 1, "name": "s", "classification": "non_classified",
        "sensitivity": "internal", "importance": "general", "service_model": "iaas",
        "deployment_model": "shared"});
    for (level, ok) in [(0, false), (1, true), (4, true), (5, false)] {
        let mut input = base.clone();
        input["mlps_level"] = json!(level);
        let errors = errors_of(Kind::InformationSystem, input);
        assert_eq!(errors.is_empty(), ok, "level {level}: {errors:?}");
        if !ok {
            assert_eq!(errors, vec![("mlps_level".to_string(), "out_of_range")]);
        }
    }
}

#[test]
fn derived_fields_cannot_be_set() {
    let errors = errors_of(
        Kind::Subnet,
        json!({"vpc_id": 1, "name": "web", "cidr": "10.0.1.0/24", "tenant_id": 9}),
    );
    assert_eq!(errors, vec![("tenant_id".to_string(), "derived_field")]);
}

#[test]
fn formats_of_text_dates_digests_and_enums_are_checked() {
    let errors = errors_of(
        Kind::Tenant,
        json!({"name": "a", "unit_type": "ministry", "contact_email": "nobody",
               "contact_phone": "call me", "credit_code": "123"}),
    );
    assert_eq!(
        errors,
        vec![
            ("unit_type".to_string(), "unknown_value"),
            ("credit_code".to_string(), "invalid_format"),
            ("contact_phone".to_string(), "invalid_format"),
            ("contact_email".to_string(), "invalid_format"),
        ]
    );
    let errors = errors_of(
        Kind::Image,
        json!({"provider_id": 1, "name": "i", "os": "x", "visibility": "public",
               "digest": "md5:abc"}),
    );
    assert_eq!(errors, vec![("digest".to_string(), "invalid_digest")]);
    let errors = errors_of(
        Kind::Platform,
        json!({"provider_id": 1, "name": "p", "product": "x", "service_models": ["iaas"],
               "deployment_models": ["shared"], "mlps_level": 3, "assessment_expiry": "2026-02-30"}),
    );
    assert_eq!(
        errors,
        vec![("assessment_expiry".to_string(), "invalid_date")]
    );
}

#[test]
fn update_mode_parses_only_given_fields() {
    let map = json!({"name": "renamed"});
    let values = parse_input(
        Kind::Vpc.spec(),
        map.as_object().expect("object"),
        InputMode::Update,
    )
    .expect("valid");
    assert_eq!(values.len(), 1);
}

mod properties {
    use proptest::prelude::*;

    use super::super::{parse_input, InputMode};
    use crate::schema::Kind;

    proptest! {
        /// No input, however odd, panics the parser; it answers values or field errors.
        #[test]
        fn arbitrary_json_never_panics(key in "[a-z_]{1,12}", text in ".{0,40}", number in any::<i64>()) {
            for kind in Kind::ALL {
                let mut map = serde_json::Map::new();
                map.insert(key.clone(), serde_json::Value::String(text.clone()));
                map.insert("name".into(), serde_json::Value::from(number));
                let _ = parse_input(kind.spec(), &map, InputMode::Create);
                let _ = parse_input(kind.spec(), &map, InputMode::Update);
            }
        }
    }
}
