//! Custom controls: administrators add checks without recompiling, written in Rego (the
//! Open Policy Agent language, evaluated in-process by `regorus`) over the inventory.
//!
//! The contract, checked at upload:
//! - the module is `package yunjian.custom` (Rego v1 syntax);
//! - it defines `violations`, a set of objects `{"kind": K, "id": N, "message": "…"}`;
//! - `input` holds, for each kind the control declares, the list of those objects as
//!   the API shows them (`input.vms`, `input.security_group_rules`, …), each with its
//!   `id`, `tenant_id` and `provider_id` where it has them.
//!
//! A violation must name an object of a declared kind that exists in `input`; anything
//! else is an ERROR of the control, never a silent PASS. Each object's owner decides the
//! scope of the result (tenant, else provider), so the usual responsibility,
//! inheritance and waivers apply.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::time::Duration;

use serde_json::{json, Value as Json};
use yunjian_core::schema::Kind;

use crate::catalog::{Assessment, Catalog};
use crate::controls::ControlInfo;
use crate::evaluate::CustomRun;
use crate::inventory::Inventory;
use crate::result::{Evidence, Outcome, Scope, Verdict, EVIDENCE_LIMIT};

pub const PACKAGE: &str = "data.yunjian.custom";
const RULE: &str = "data.yunjian.custom.violations";
/// A custom control's source is at most this long.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// A custom control runs at most this long; past it, ERROR.
pub const TIME_LIMIT: Duration = Duration::from_secs(5);

/// A custom control as stored (one version).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomControl {
    /// `custom.` followed by lower-case letters, digits, `_` and `.`.
    pub id: String,
    pub version: i64,
    pub title_zh: String,
    pub title_en: String,
    pub clauses: Vec<String>,
    pub kinds: Vec<Kind>,
    pub source: String,
}

/// Why an upload is refused: the line of the source (0 when not about a line) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}:{line}: {reason}")]
pub struct CustomControlError {
    /// `source`, `id`, `clauses`, `kinds`, `title_zh`, `title_en`.
    pub field: String,
    pub line: usize,
    pub reason: String,
}

fn refuse(field: &str, line: usize, reason: impl Into<String>) -> CustomControlError {
    CustomControlError {
        field: field.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// The first `N:` after the file name in a regorus error ("custom.rego:3:5: error: …").
fn error_line(message: &str) -> usize {
    message
        .split(':')
        .skip_while(|part| !part.trim_end().ends_with(".rego"))
        .nth(1)
        .and_then(|part| part.trim().parse().ok())
        .unwrap_or(0)
}

fn engine(source: &str) -> Result<regorus::Engine, CustomControlError> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: TIME_LIMIT,
        check_interval: NonZeroU32::new(1000).unwrap_or(NonZeroU32::MIN),
    });
    let package = engine
        .add_policy("custom.rego".to_owned(), source.to_owned())
        .map_err(|error| {
            let message = error.to_string();
            refuse("source", error_line(&message), message)
        })?;
    if package != PACKAGE {
        return Err(refuse(
            "source",
            1,
            format!(
                "the package must be yunjian.custom, not {}",
                package.trim_start_matches("data.")
            ),
        ));
    }
    Ok(engine)
}

/// Validates an upload: id, titles, clauses in the catalog, kinds the inventory holds,
/// and a source that parses, is in the right package and yields a set for `violations`
/// on an empty inventory.
pub fn validate(
    catalog: &Catalog,
    id: &str,
    title_zh: &str,
    title_en: &str,
    clauses: &[String],
    kinds: &[String],
    source: &str,
) -> Result<CustomControl, CustomControlError> {
    let valid_id = id.strip_prefix("custom.").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 60
            && rest.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'.'
            })
    });
    if !valid_id {
        return Err(refuse(
            "id",
            0,
            "an id is 'custom.' and 1 to 60 lower-case letters, digits, '_' or '.'",
        ));
    }
    for (field, title) in [("title_zh", title_zh), ("title_en", title_en)] {
        if title.trim().is_empty() || title.chars().count() > 200 {
            return Err(refuse(field, 0, "a title of 1 to 200 characters"));
        }
    }
    if clauses.is_empty() {
        return Err(refuse("clauses", 0, "name the clauses the control decides"));
    }
    for clause in clauses {
        match catalog.clause(clause) {
            Some(found) if found.assessment != Assessment::Definition => {}
            _ => {
                return Err(refuse(
                    "clauses",
                    0,
                    format!("no requirement {clause} in the catalog"),
                ))
            }
        }
    }
    let mut parsed = Vec::new();
    for name in kinds {
        let kind = Inventory::KINDS
            .into_iter()
            .find(|kind| kind.spec().table == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Inventory::KINDS
                    .iter()
                    .map(|kind| kind.spec().table)
                    .collect();
                refuse(
                    "kinds",
                    0,
                    format!("'{name}' is not one of {}", known.join(", ")),
                )
            })?;
        if !parsed.contains(&kind) {
            parsed.push(kind);
        }
    }
    if parsed.is_empty() {
        return Err(refuse("kinds", 0, "name the kinds the control reads"));
    }
    if source.len() > MAX_SOURCE_BYTES {
        return Err(refuse(
            "source",
            0,
            format!("at most {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let mut engine = engine(source)?;
    let empty: BTreeMap<&str, Json> = parsed
        .iter()
        .map(|kind| (kind.spec().table, json!([])))
        .collect();
    engine.set_input(regorus::Value::from(json!(empty)));
    match engine.eval_rule(RULE.to_owned()) {
        Ok(value) if value == regorus::Value::Undefined || value.as_set().is_ok() => {}
        Ok(other) => {
            return Err(refuse(
                "source",
                0,
                format!("'violations' must be a set of objects, not {other}"),
            ))
        }
        Err(error) => {
            let message = error.to_string();
            return Err(refuse("source", error_line(&message), message));
        }
    }
    Ok(CustomControl {
        id: id.to_owned(),
        version: 0,
        title_zh: title_zh.trim().to_owned(),
        title_en: title_en.trim().to_owned(),
        clauses: clauses.to_vec(),
        kinds: parsed,
        source: source.to_owned(),
    })
}

/// The rows of one kind as input objects, with the owner columns.
fn rows_of(inventory: &Inventory, kind: Kind) -> Vec<Json> {
    let with = |id: i64, tenant: Option<i64>, provider: Option<i64>, mut fields: Json| {
        fields["id"] = json!(id);
        fields["tenant_id"] = json!(tenant);
        fields["provider_id"] = json!(provider);
        fields
    };
    let some = |id: i64| (id > 0).then_some(id);
    match kind {
        Kind::Tenant => inventory.tenants.iter().map(|row| with(row.id, Some(row.id), None, json!({"name": row.name, "key_tenant": row.key_tenant}))).collect(),
        Kind::Provider => inventory.providers.iter().map(|row| with(row.id, None, Some(row.id), json!({"name": row.name}))).collect(),
        Kind::Platform => inventory.platforms.iter().map(|row| with(row.id, None, some(row.provider_id), json!({
            "name": row.name, "mlps_level": row.mlps_level,
            "service_models": row.service_models.iter().map(|model| model.as_str()).collect::<Vec<_>>(),
            "assessment_expiry": row.assessment_expiry.map(|date| date.to_string()),
        }))).collect(),
        Kind::Datacenter => inventory.datacenters.iter().map(|row| with(row.id, None, some(row.provider_id), json!({
            "name": row.name, "address": row.address, "district": row.district, "latitude": row.latitude,
            "longitude": row.longitude, "datum": row.datum, "remote_backup_site": row.remote_backup_site, "carriers": row.carriers,
        }))).collect(),
        Kind::Zone => inventory.zones.iter().map(|row| with(row.id, None, None, json!({"name": row.name, "zone_kind": row.zone_kind}))).collect(),
        Kind::Host => inventory.hosts.iter().map(|row| with(row.id, None, some(row.provider_id), json!({
            "name": row.name, "datacenter_id": row.datacenter_id, "zone_id": row.zone_id,
        }))).collect(),
        Kind::Vpc => inventory.vpcs.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "zone_id": row.zone_id,
        }))).collect(),
        Kind::InformationSystem => inventory.systems.iter().map(|row| with(row.id, some(row.tenant_id), None, json!({
            "name": row.name, "classification": row.classification, "mlps_level": row.mlps_level,
            "sensitivity": row.sensitivity, "importance": row.importance,
            "service_model": row.service_model.map(|model| model.as_str()), "vpc_ids": row.vpc_ids,
        }))).collect(),
        Kind::Vm => inventory.vms.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "vpc_id": row.vpc_id, "host_id": row.host_id, "image_id": row.image_id, "system_id": row.system_id,
        }))).collect(),
        Kind::Volume => inventory.volumes.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "vm_id": row.vm_id, "encrypted": row.encrypted,
        }))).collect(),
        Kind::Backup => inventory.backups.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "system_id": row.system_id, "datacenter_id": row.datacenter_id,
            "backup_kind": row.backup_kind, "last_restore_test": row.last_restore_test.map(|date| date.to_string()),
        }))).collect(),
        Kind::Image => inventory.images.iter().map(|row| with(row.id, row.tenant_id, some(row.provider_id), json!({
            "name": row.name, "digest": row.digest,
        }))).collect(),
        Kind::SecurityGroup => inventory.security_groups.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "vpc_id": row.vpc_id,
        }))).collect(),
        Kind::SecurityGroupRule => inventory.rules.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "security_group_id": row.security_group_id, "direction": row.direction, "action": row.action,
            "protocol": row.protocol, "port_from": row.port_from, "port_to": row.port_to,
            "remote_cidr": row.remote_cidr, "remote_group_id": row.remote_group_id,
        }))).collect(),
        Kind::PaasInstance => inventory.paas.iter().map(|row| with(row.id, some(row.tenant_id), some(row.provider_id), json!({
            "name": row.name, "category": row.category, "product": row.product, "version": row.version, "system_id": row.system_id,
        }))).collect(),
        _ => Vec::new(),
    }
}

/// Runs one custom control over the inventory: PASS or FAIL per owning scope of the
/// objects it examined, or the error.
pub fn run(control: &CustomControl, inventory: &Inventory) -> CustomRun {
    let info = ControlInfo {
        id: control.id.clone(),
        title_zh: control.title_zh.clone(),
        title_en: control.title_en.clone(),
        clauses: control.clauses.clone(),
        parameters: Vec::new(),
        origin: format!("custom:{}", control.version),
    };
    CustomRun {
        info,
        outcomes: evaluate(control, inventory),
    }
}

fn evaluate(control: &CustomControl, inventory: &Inventory) -> Result<Vec<Outcome>, String> {
    let mut engine = engine(&control.source).map_err(|error| error.to_string())?;
    // Owners of every examined object, by (kind, id).
    let mut owners: HashMap<(String, i64), (Scope, String)> = HashMap::new();
    let mut examined: BTreeMap<Scope, usize> = BTreeMap::new();
    let mut input = serde_json::Map::new();
    for kind in &control.kinds {
        let rows = rows_of(inventory, *kind);
        for row in &rows {
            let id = row["id"].as_i64().unwrap_or(0);
            let scope = match (row["tenant_id"].as_i64(), row["provider_id"].as_i64()) {
                (Some(tenant), _) => Scope::Tenant(tenant),
                (None, Some(provider)) => Scope::Provider(provider),
                (None, None) => Scope::Platform,
            };
            let name = row["name"].as_str().unwrap_or("").to_owned();
            owners.insert((kind.spec().id.to_owned(), id), (scope, name.clone()));
            owners.insert((kind.spec().table.to_owned(), id), (scope, name));
            *examined.entry(scope).or_default() += 1;
        }
        input.insert(kind.spec().table.to_owned(), Json::Array(rows));
    }
    engine.set_input(regorus::Value::from(Json::Object(input)));
    let value = engine
        .eval_rule(RULE.to_owned())
        .map_err(|error| error.to_string())?;
    let violations = match value {
        regorus::Value::Undefined => Vec::new(),
        value => {
            let set = value
                .as_set()
                .map_err(|_| "'violations' is not a set".to_owned())?;
            set.iter()
                .map(|item| {
                    let json: Json = serde_json::from_str(
                        &item.to_json_str().map_err(|error| error.to_string())?,
                    )
                    .map_err(|error| error.to_string())?;
                    Ok(json)
                })
                .collect::<Result<Vec<Json>, String>>()?
        }
    };
    let mut failing: BTreeMap<Scope, Vec<Evidence>> = BTreeMap::new();
    for violation in &violations {
        let kind = violation["kind"].as_str().unwrap_or("");
        let id = violation["id"].as_i64().unwrap_or(0);
        let Some((scope, name)) = owners.get(&(kind.to_owned(), id)) else {
            return Err(format!(
                "a violation names no object of a declared kind: {violation}"
            ));
        };
        let list = failing.entry(*scope).or_default();
        if list.len() < EVIDENCE_LIMIT {
            list.push(Evidence {
                kind: kind.to_owned(),
                id,
                name: name.clone(),
                field: "violation".to_owned(),
                value: violation["message"].as_str().unwrap_or("").to_owned(),
                expected: control.title_en.clone(),
                failing: true,
            });
        }
    }
    let mut outcomes = Vec::new();
    for (scope, count) in examined {
        let evidence = failing.remove(&scope).unwrap_or_default();
        let fails = !evidence.is_empty();
        outcomes.push(Outcome {
            control: control.id.clone(),
            scope,
            verdict: if fails { Verdict::Fail } else { Verdict::Pass },
            message_zh: if fails {
                format!(
                    "自定义检查：{} 项不符合（共检查 {count} 项）",
                    evidence.len()
                )
            } else {
                format!("自定义检查：{count} 项均符合")
            },
            message_en: if fails {
                format!("custom control: {} of {count} fail", evidence.len())
            } else {
                format!("custom control: all {count} pass")
            },
            evidence_total: evidence.len(),
            evidence,
            examined: count,
        });
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDP: &str = r#"package yunjian.custom

# RDP (3389) must never be open to the world.
violations contains v if {
    some rule in input.security_group_rules
    rule.direction == "ingress"
    rule.action == "allow"
    rule.remote_cidr == "0.0.0.0/0"
    rule.port_from <= 3389
    rule.port_to >= 3389
    v := {"kind": "security_group_rule", "id": rule.id, "message": "RDP open to the world"}
}
"#;

    fn catalog() -> Catalog {
        Catalog::shipped().expect("catalog")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn inventory() -> Inventory {
        let mut inventory = Inventory::default();
        let rule = |id: i64, tenant: i64, port: i64, cidr: &str| crate::inventory::Rule {
            id,
            security_group_id: 1,
            tenant_id: tenant,
            provider_id: 1,
            direction: "ingress".into(),
            action: "allow".into(),
            protocol: "tcp".into(),
            port_from: Some(port),
            port_to: Some(port),
            remote_cidr: Some(cidr.into()),
            remote_group_id: None,
        };
        inventory.rules = vec![
            rule(1, 7, 3389, "0.0.0.0/0"),
            rule(2, 7, 443, "0.0.0.0/0"),
            rule(3, 8, 3389, "10.0.0.0/8"),
        ];
        inventory
    }

    #[test]
    fn a_custom_control_validates_and_decides_per_owner() {
        let control = validate(
            &catalog(),
            "custom.rdp_closed",
            "RDP 不对公网开放",
            "RDP closed to the internet",
            &strings(&["7.2.3.1"]),
            &strings(&["security_group_rules"]),
            RDP,
        )
        .expect("valid");
        let run = run(&control, &inventory());
        let outcomes = run.outcomes.expect("ran");
        let tenant7 = outcomes
            .iter()
            .find(|o| o.scope == Scope::Tenant(7))
            .expect("tenant 7");
        assert_eq!(tenant7.verdict, Verdict::Fail);
        assert_eq!(tenant7.evidence[0].id, 1);
        assert_eq!(tenant7.examined, 2);
        let tenant8 = outcomes
            .iter()
            .find(|o| o.scope == Scope::Tenant(8))
            .expect("tenant 8");
        assert_eq!(tenant8.verdict, Verdict::Pass);
    }

    #[test]
    fn bad_uploads_are_refused_with_the_line_and_reason() {
        let catalog = catalog();
        let check = |id: &str, clauses: &[&str], kinds: &[&str], source: &str| {
            validate(
                &catalog,
                id,
                "标题",
                "title",
                &strings(clauses),
                &strings(kinds),
                source,
            )
            .expect_err("refused")
        };
        let error = check(
            "custom.x",
            &["7.2.3.1"],
            &["security_group_rules"],
            "package yunjian.custom\n\nviolations contains v if {\n  v := \n}\n",
        );
        assert_eq!(error.field, "source");
        assert!(error.line >= 3, "{error}");
        let error = check(
            "custom.x",
            &["7.2.3.1"],
            &["security_group_rules"],
            "package other\nviolations := set()\n",
        );
        assert!(error.reason.contains("yunjian.custom"), "{error}");
        let error = check(
            "custom.x",
            &["7.2.3.1"],
            &["security_group_rules"],
            "package yunjian.custom\nviolations := 3\n",
        );
        assert!(error.reason.contains("set"), "{error}");
        assert_eq!(check("x", &["7.2.3.1"], &["vms"], RDP).field, "id");
        assert_eq!(check("custom.x", &["9.9"], &["vms"], RDP).field, "clauses");
        assert_eq!(check("custom.x", &["3.1"], &["vms"], RDP).field, "clauses");
        assert_eq!(
            check("custom.x", &["7.2.3.1"], &["accounts"], RDP).field,
            "kinds"
        );
    }

    #[test]
    fn a_violation_that_names_nothing_known_is_an_error_not_a_pass() {
        let source = "package yunjian.custom\nviolations contains {\"kind\": \"vm\", \"id\": 999, \"message\": \"x\"} if { true }\n";
        let control = validate(
            &catalog(),
            "custom.ghost",
            "幽灵",
            "ghost",
            &strings(&["7.2.3.1"]),
            &strings(&["security_group_rules"]),
            source,
        )
        .expect("valid");
        let run = run(&control, &inventory());
        assert!(run.outcomes.expect_err("error").contains("no object"));
    }

    #[test]
    fn a_runtime_error_is_an_error() {
        // Dividing by zero at run time (strict builtin errors).
        let source = "package yunjian.custom\nviolations contains v if {\n  some rule in input.security_group_rules\n  x := rule.port_from / 0\n  v := {\"kind\": \"security_group_rule\", \"id\": rule.id, \"message\": sprintf(\"%v\", [x])}\n}\n";
        let control = validate(
            &catalog(),
            "custom.div",
            "除零",
            "division",
            &strings(&["7.2.3.1"]),
            &strings(&["security_group_rules"]),
            source,
        )
        .expect("valid on an empty inventory");
        let run = run(&control, &inventory());
        assert!(run.outcomes.is_err(), "{:?}", run.outcomes);
    }
}
