//! Field values: parsed from operator input, checked against the field's type, and
//! rendered back. Input arrives as JSON (API) or as form text coerced to JSON (console),
//! so both surfaces share one validator.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value as Json;

use crate::schema::{EnumOption, FieldSpec, FieldType, KindSpec, Presence, TextFormat};

/// A stored field value. Lists are kept sorted and free of duplicates where order has no
/// meaning, so equal worlds hash equally.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    TextList(Vec<String>),
    IdList(Vec<i64>),
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(value) => Json::from(*value),
            Value::Float(value) => Json::from(*value),
            Value::Bool(value) => Json::Bool(*value),
            Value::Text(value) => Json::String(value.clone()),
            Value::TextList(values) => Json::from(values.clone()),
            Value::IdList(values) => Json::from(values.clone()),
        }
    }
}

/// The values of one object, keyed by field name.
pub type Values = BTreeMap<&'static str, Value>;

/// A problem with one field, for a 4xx answer that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    /// Stable machine-readable code (`required`, `invalid_cidr`, …).
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Whether absent fields keep their old values (update) or must be present (create).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputMode {
    Create,
    Update,
}

/// Parses an input object for a kind. On create every required field must be present;
/// on update only the given fields are parsed and the caller merges them. Unknown and
/// derived fields are refused by name so a typo never silently drops data.
pub fn parse_input(
    spec: &KindSpec,
    input: &serde_json::Map<String, Json>,
    mode: InputMode,
) -> Result<Values, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut values = Values::new();
    for key in input.keys() {
        match spec.field(key) {
            None => errors.push(FieldError::new(
                key.as_str(),
                "unknown_field",
                format!("{} has no field '{key}'", spec.id),
            )),
            Some(field) => {
                if let Presence::Derived { via, .. } = field.presence {
                    errors.push(FieldError::new(
                        key.as_str(),
                        "derived_field",
                        format!("'{key}' is taken from '{via}' and cannot be set"),
                    ));
                }
            }
        }
    }
    for field in spec.input_fields() {
        match input.get(field.name) {
            None if mode == InputMode::Update => {}
            None | Some(Json::Null) => {
                if field.presence == Presence::Required {
                    errors.push(FieldError::new(
                        field.name,
                        "required",
                        format!("'{}' is required", field.name),
                    ));
                } else {
                    values.insert(field.name, empty_value(field));
                }
            }
            Some(json) => match parse_field(field, json) {
                Ok(value) => {
                    values.insert(field.name, value);
                }
                Err(error) => errors.push(error),
            },
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The value an optional field has when not given: lists are empty, booleans false.
pub fn empty_value(field: &FieldSpec) -> Value {
    match field.ty {
        FieldType::Bool => Value::Bool(false),
        FieldType::EnumList(_)
        | FieldType::CidrList
        | FieldType::IpList
        | FieldType::TextList { .. } => Value::TextList(Vec::new()),
        FieldType::RefList(_) => Value::IdList(Vec::new()),
        _ => Value::Null,
    }
}

/// Checks that a required field has a non-empty value (after a merge on update).
pub fn check_required(spec: &KindSpec, values: &Values) -> Vec<FieldError> {
    spec.input_fields()
        .filter(|field| field.presence == Presence::Required)
        .filter(|field| {
            matches!(values.get(field.name), None | Some(Value::Null))
                || matches!(values.get(field.name), Some(Value::TextList(list)) if list.is_empty())
        })
        .map(|field| {
            FieldError::new(
                field.name,
                "required",
                format!("'{}' is required", field.name),
            )
        })
        .collect()
}

pub fn parse_field(field: &FieldSpec, json: &Json) -> Result<Value, FieldError> {
    let name = field.name;
    let fail = |code: &'static str, message: String| Err(FieldError::new(name, code, message));
    match field.ty {
        FieldType::Text { max_chars, format } => {
            let Some(text) = json.as_str() else {
                return fail("expected_string", format!("'{name}' must be a string"));
            };
            let text = text.trim();
            if text.is_empty() {
                return if field.presence == Presence::Required {
                    fail("required", format!("'{name}' must not be empty"))
                } else {
                    Ok(Value::Null)
                };
            }
            if text.chars().count() > max_chars {
                return fail(
                    "too_long",
                    format!("'{name}' is longer than {max_chars} characters"),
                );
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return fail(
                    "control_character",
                    format!("'{name}' contains a control character"),
                );
            }
            check_format(name, text, format)?;
            Ok(Value::Text(text.to_owned()))
        }
        FieldType::Integer { min, max } => match json.as_i64() {
            Some(number) if (min..=max).contains(&number) => Ok(Value::Int(number)),
            Some(number) => fail(
                "out_of_range",
                format!("'{name}' must be between {min} and {max}, not {number}"),
            ),
            None => fail("expected_integer", format!("'{name}' must be an integer")),
        },
        FieldType::Float { min, max } => match json.as_f64() {
            Some(number) if number.is_finite() && (min..=max).contains(&number) => {
                Ok(Value::Float(number))
            }
            Some(_) => fail(
                "out_of_range",
                format!("'{name}' must be between {min} and {max}"),
            ),
            None => fail("expected_number", format!("'{name}' must be a number")),
        },
        FieldType::Bool => match json.as_bool() {
            Some(flag) => Ok(Value::Bool(flag)),
            None => fail(
                "expected_boolean",
                format!("'{name}' must be true or false"),
            ),
        },
        FieldType::Enum(options) => {
            let Some(text) = json.as_str() else {
                return fail("expected_string", format!("'{name}' must be a string"));
            };
            match find_option(options, text) {
                Some(option) => Ok(Value::Text(option.value.to_owned())),
                None => fail("unknown_value", unknown_option_message(name, text, options)),
            }
        }
        FieldType::EnumList(options) => {
            let items = string_items(name, json)?;
            let mut values = Vec::new();
            for item in items {
                match find_option(options, &item) {
                    Some(option) => values.push(option.value.to_owned()),
                    None => {
                        return fail(
                            "unknown_value",
                            unknown_option_message(name, &item, options),
                        )
                    }
                }
            }
            values.sort();
            values.dedup();
            Ok(Value::TextList(values))
        }
        FieldType::Ref(_) => match json.as_i64() {
            Some(id) if id > 0 => Ok(Value::Int(id)),
            _ => fail(
                "expected_id",
                format!("'{name}' must be the positive integer id of an object"),
            ),
        },
        FieldType::RefList(_) => {
            let Some(items) = json.as_array() else {
                return fail(
                    "expected_array",
                    format!("'{name}' must be an array of ids"),
                );
            };
            let mut ids = Vec::new();
            for item in items {
                match item.as_i64() {
                    Some(id) if id > 0 => ids.push(id),
                    _ => {
                        return fail(
                            "expected_id",
                            format!("'{name}' must contain positive integer ids"),
                        )
                    }
                }
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(Value::IdList(ids))
        }
        FieldType::Cidr => {
            let Some(text) = json.as_str() else {
                return fail("expected_string", format!("'{name}' must be a CIDR string"));
            };
            parse_cidr(name, text).map(|net| Value::Text(net.to_string()))
        }
        FieldType::CidrList => {
            let mut nets = Vec::new();
            for item in string_items(name, json)? {
                nets.push(parse_cidr(name, &item)?);
            }
            nets.sort();
            nets.dedup();
            Ok(Value::TextList(nets.iter().map(IpNet::to_string).collect()))
        }
        FieldType::IpList => {
            let mut addresses = Vec::new();
            for item in string_items(name, json)? {
                match item.trim().parse::<IpAddr>() {
                    Ok(address) => addresses.push(address),
                    Err(_) => {
                        return fail(
                            "invalid_ip",
                            format!("'{name}': '{item}' is not an IP address"),
                        )
                    }
                }
            }
            addresses.sort();
            addresses.dedup();
            Ok(Value::TextList(
                addresses.iter().map(IpAddr::to_string).collect(),
            ))
        }
        FieldType::TextList {
            max_items,
            max_chars,
        } => {
            let mut items = Vec::new();
            for item in string_items(name, json)? {
                let item = item.trim().to_owned();
                if item.is_empty()
                    || item.chars().count() > max_chars
                    || item.chars().any(char::is_control)
                {
                    return fail(
                        "invalid_item",
                        format!("'{name}': each item is 1 to {max_chars} printable characters"),
                    );
                }
                items.push(item);
            }
            if items.len() > max_items {
                return fail("too_many", format!("'{name}': at most {max_items} items"));
            }
            items.sort();
            items.dedup();
            Ok(Value::TextList(items))
        }
        FieldType::Date => {
            let Some(text) = json.as_str() else {
                return fail("expected_string", format!("'{name}' must be a date string"));
            };
            match chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(date) => Ok(Value::Text(date.format("%Y-%m-%d").to_string())),
                Err(_) => fail(
                    "invalid_date",
                    format!("'{name}' must be a date as YYYY-MM-DD, not '{text}'"),
                ),
            }
        }
        FieldType::Digest => {
            let Some(text) = json.as_str() else {
                return fail("expected_string", format!("'{name}' must be a string"));
            };
            parse_digest(text.trim()).map(Value::Text).ok_or_else(|| {
                FieldError::new(
                    name,
                    "invalid_digest",
                    format!("'{name}' must be 'sm3:' or 'sha256:' and 64 hex digits, 'sha512:' and 128, or 'md5:' and 32"),
                )
            })
        }
    }
}

fn find_option(options: &'static [EnumOption], text: &str) -> Option<&'static EnumOption> {
    options.iter().find(|option| option.value == text.trim())
}

fn unknown_option_message(name: &str, text: &str, options: &[EnumOption]) -> String {
    let allowed: Vec<&str> = options.iter().map(|option| option.value).collect();
    format!(
        "'{name}' must be one of {}, not '{text}'",
        allowed.join(", ")
    )
}

fn string_items(name: &str, json: &Json) -> Result<Vec<String>, FieldError> {
    let Some(items) = json.as_array() else {
        return Err(FieldError::new(
            name,
            "expected_array",
            format!("'{name}' must be an array of strings"),
        ));
    };
    items
        .iter()
        .map(|item| {
            item.as_str().map(str::to_owned).ok_or_else(|| {
                FieldError::new(
                    name,
                    "expected_string",
                    format!("'{name}' must contain only strings"),
                )
            })
        })
        .collect()
}

/// Parses a CIDR block and insists that it is written in its canonical form (no host
/// bits set), since `10.0.0.5/24` is almost always a typo for a host or a network.
pub fn parse_cidr(name: &str, text: &str) -> Result<IpNet, FieldError> {
    let text = text.trim();
    let net: IpNet = text.parse().map_err(|_| {
        FieldError::new(
            name,
            "invalid_cidr",
            format!("'{name}': '{text}' is not a CIDR block such as 10.1.0.0/16"),
        )
    })?;
    if net.trunc() != net {
        return Err(FieldError::new(
            name,
            "invalid_cidr",
            format!(
                "'{name}': '{text}' has host bits set; the network is {}",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

/// A digest as stored and compared: `algorithm:hex`, lower case; `None` if malformed.
pub fn parse_digest(text: &str) -> Option<String> {
    let (algorithm, hex) = text.split_once(':')?;
    let algorithm = algorithm.to_ascii_lowercase();
    // Providers report their own hashes: Glance's `os_hash_algo` is SHA-512 by default,
    // and old images carry only an MD5 `checksum`. The registry decides which are
    // approved; MD5 alone never is (docs/decisions/0011-provider-sync.md).
    let length = match algorithm.as_str() {
        "sm3" | "sha256" => 64,
        "sha512" => 128,
        "md5" => 32,
        _ => return None,
    };
    if hex.len() != length || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("{algorithm}:{}", hex.to_ascii_lowercase()))
}

fn check_format(name: &str, text: &str, format: TextFormat) -> Result<(), FieldError> {
    let valid = match format {
        TextFormat::Plain => true,
        TextFormat::Email => {
            let mut parts = text.split('@');
            matches!(
                (parts.next(), parts.next(), parts.next()),
                (Some(local), Some(domain), None)
                    if !local.is_empty() && domain.contains('.') && !text.contains(char::is_whitespace)
            )
        }
        TextFormat::Phone => {
            text.chars().filter(char::is_ascii_digit).count() >= 7
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')'))
        }
        TextFormat::CreditCode => {
            text.len() == 18
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
    };
    if valid {
        Ok(())
    } else {
        let expected = match format {
            TextFormat::Plain => "text",
            TextFormat::Email => "an e-mail address",
            TextFormat::Phone => "a telephone number",
            TextFormat::CreditCode => "an 18-character unified social credit code",
        };
        Err(FieldError::new(
            name,
            "invalid_format",
            format!("'{name}' must be {expected}"),
        ))
    }
}

#[cfg(test)]
mod tests;
