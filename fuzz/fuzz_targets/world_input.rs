//! Fuzzes the parser every operator input goes through (API JSON and console forms
//! alike): any bytes that are a JSON object are parsed for every kind, in create and
//! update mode, and checked by the per-kind rules. It must answer values or field errors,
//! never panic, and what it accepts must be canonical (parsing it again changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_core::rules::check_object;
use yunjian_core::schema::Kind;
use yunjian_core::value::{parse_field, parse_input, InputMode};

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(data)
    else {
        return;
    };
    for kind in Kind::ALL {
        for mode in [InputMode::Create, InputMode::Update] {
            if let Ok(values) = parse_input(kind.spec(), &map, mode) {
                let _ = check_object(kind, &values);
                for (name, value) in &values {
                    let field = kind.spec().field(name).expect("parsed fields exist");
                    if !value.is_null() {
                        let again = parse_field(field, &value.to_json())
                            .expect("accepted values parse again");
                        assert_eq!(&again, value, "{name} is not canonical");
                    }
                }
            }
        }
    }
});
