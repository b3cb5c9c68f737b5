//! Turning console form posts into the same JSON the API takes, so both go through one
//! validator.

use serde_json::{json, Map, Value as Json};
use yunjian_core::schema::{FieldType, KindSpec};

/// Form pairs in order (a field may repeat: checkboxes, multi-selects).
pub type FormPairs = Vec<(String, String)>;

pub fn parse_pairs(body: &[u8]) -> FormPairs {
    form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

pub fn first<'a>(pairs: &'a FormPairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a FormPairs, key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
        .collect()
}

/// Coerces a form into a JSON object for a kind. Values that do not parse as their
/// type are passed on as text, so the validator names the field and the problem.
pub fn form_to_json(spec: &KindSpec, pairs: &FormPairs) -> Map<String, Json> {
    let mut map = Map::new();
    for field in spec.input_fields() {
        let value = match field.ty {
            FieldType::Bool => json!(matches!(first(pairs, field.name), Some("true" | "on"))),
            FieldType::EnumList(_) => json!(all(pairs, field.name)),
            FieldType::RefList(_) => Json::Array(
                all(pairs, field.name)
                    .into_iter()
                    .map(number_or_text)
                    .collect(),
            ),
            FieldType::CidrList | FieldType::IpList | FieldType::TextList { .. } => {
                let text = first(pairs, field.name).unwrap_or("");
                json!(text
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
                    .filter(|item| !item.is_empty())
                    .collect::<Vec<_>>())
            }
            FieldType::Integer { .. } | FieldType::Ref(_) | FieldType::Float { .. } => {
                match first(pairs, field.name) {
                    None => continue,
                    Some(text) if text.trim().is_empty() => Json::Null,
                    Some(text) => number_or_text(text),
                }
            }
            _ => match first(pairs, field.name) {
                None => continue,
                Some(text) if text.trim().is_empty() => Json::Null,
                Some(text) => json!(text),
            },
        };
        map.insert(field.name.to_owned(), value);
    }
    for (key, value) in pairs {
        if !key.starts_with('_') && spec.field(key).is_none() && !map.contains_key(key) {
            map.insert(key.clone(), json!(value));
        }
    }
    map
}

fn number_or_text(text: &str) -> Json {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        json!(number)
    } else if let Ok(number) = text.parse::<f64>() {
        json!(number)
    } else {
        json!(text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use yunjian_core::schema::Kind;

    use super::{form_to_json, parse_pairs};

    #[test]
    fn forms_coerce_by_field_type_and_keep_bad_text_for_the_validator() {
        let pairs = parse_pairs(
            "_csrf=x&provider_id=2&name=%E6%B0%B4%E5%9C%9F&address=a&latitude=29.7&longitude=abc&datum=wgs84&carriers=china_telecom&carriers=china_unicom&colour=red"
                .as_bytes(),
        );
        let map = form_to_json(Kind::Datacenter.spec(), &pairs);
        assert_eq!(map["provider_id"], json!(2));
        assert_eq!(map["name"], json!("水土"));
        assert_eq!(map["latitude"], json!(29.7));
        assert_eq!(map["longitude"], json!("abc"));
        assert_eq!(map["remote_backup_site"], json!(false));
        assert_eq!(map["carriers"], json!(["china_telecom", "china_unicom"]));
        assert_eq!(
            map["colour"],
            json!("red"),
            "unknown fields reach the validator"
        );
        assert!(!map.contains_key("_csrf"));
        let vpc = form_to_json(
            Kind::Vpc.spec(),
            &parse_pairs(b"cidrs=10.0.0.0%2F16%0D%0A10.1.0.0%2F16"),
        );
        assert_eq!(vpc["cidrs"], json!(["10.0.0.0/16", "10.1.0.0/16"]));
    }
}
