//! Wire shapes of the JSON API, kept apart from the domain types so the API can stay
//! stable while the domain evolves.

use serde_json::{json, Map, Value as Json};
use yunjian_app::{Overview, OverviewCount, ResolvedObject, WorldPage};
use yunjian_core::role::Principal;
use yunjian_core::schema::{FieldType, Kind};
use yunjian_core::value::Value;
use yunjian_store::{Account, AuditRecord, WorldObject};

/// RFC 3339 UTC with nanoseconds, from nanoseconds since the epoch.
pub fn timestamp(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub fn object_json(object: &WorldObject, names: &yunjian_app::ResolvedNames) -> Json {
    let spec = object.kind.spec();
    let mut map = Map::new();
    map.insert("id".into(), json!(object.id));
    map.insert("kind".into(), json!(spec.id));
    let mut reference_names = Map::new();
    for field in spec.fields {
        let value = object.values.get(field.name).unwrap_or(&Value::Null);
        map.insert(field.name.into(), value.to_json());
        match (field.ty, value) {
            (FieldType::Ref(target), Value::Int(id)) => {
                if let Some(name) = names.get(&(target, *id)) {
                    reference_names.insert(field.name.into(), json!(name));
                }
            }
            (FieldType::RefList(link), Value::IdList(ids)) => {
                let listed: Vec<Json> = ids
                    .iter()
                    .map(|id| {
                        names
                            .get(&(link.target, *id))
                            .map_or(Json::Null, |name| json!(name))
                    })
                    .collect();
                reference_names.insert(field.name.into(), Json::Array(listed));
            }
            _ => {}
        }
    }
    map.insert("names".into(), Json::Object(reference_names));
    map.insert("created_at".into(), json!(timestamp(object.created_at_ns)));
    map.insert("updated_at".into(), json!(timestamp(object.updated_at_ns)));
    map.insert("revision".into(), json!(object.revision));
    Json::Object(map)
}

pub fn resolved_json(resolved: &ResolvedObject) -> Json {
    object_json(&resolved.object, &resolved.names)
}

/// A page; `next_after` is the id to pass as `after` for the next page (keyset paging
/// in id order), absent on the last page.
pub fn page_json(page: &WorldPage) -> Json {
    let next_after = (page.items.len() as u32 == page.per_page)
        .then(|| page.items.last().map(|object| object.id))
        .flatten();
    json!({
        "next_after": next_after,
        "items": page.items.iter().map(|object| object_json(object, &page.names)).collect::<Vec<_>>(),
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })
}

pub fn principal_json(principal: &Principal) -> Json {
    json!({
        "account_id": principal.account_id.0,
        "username": principal.username,
        "role": principal.role.as_str(),
        "tenant_id": principal.tenant.map(|id| id.0),
        "provider_id": principal.provider.map(|id| id.0),
    })
}

pub fn account_json(account: &Account) -> Json {
    json!({
        "id": account.id.0,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role.as_str(),
        "tenant_id": account.tenant.map(|id| id.0),
        "provider_id": account.provider.map(|id| id.0),
        "disabled": account.disabled,
        "must_change_password": account.must_change_password,
        "person_id": account.person_id,
        "second_factor": account.totp_sealed.is_some(),
        "created_at": timestamp(account.created_at_ns),
    })
}

fn counts_json(counts: &[OverviewCount]) -> Json {
    Json::Array(
        counts
            .iter()
            .map(|count| json!({"key": count.key, "label": count.label, "count": count.count}))
            .collect(),
    )
}

pub fn overview_json(overview: &Overview) -> Json {
    let totals: Map<String, Json> = overview
        .totals
        .iter()
        .map(|(kind, count): &(Kind, i64)| (kind.spec().table.to_owned(), json!(count)))
        .collect();
    json!({
        "totals": totals,
        "vms_by_provider": counts_json(&overview.vms_by_provider),
        "vpcs_by_zone": counts_json(&overview.vpcs_by_zone),
        "vms_by_tenant": counts_json(&overview.vms_by_tenant),
        "systems_by_mlps_level": counts_json(&overview.systems_by_mlps_level),
    })
}

pub fn audit_json(record: &AuditRecord) -> Json {
    let r = &record.record;
    json!({
        "seq": record.seq,
        "at": timestamp(r.at_ns),
        "source_at": r.source_time_ns.map(timestamp),
        "actor": {
            "account_id": r.actor_account_id,
            "username": r.actor_username,
            "role": r.actor_role,
            "tenant_id": r.actor_tenant_id,
            "provider_id": r.actor_provider_id,
            "source_address": r.source_address,
            "credential": r.actor_credential,
        },
        "request_id": r.request_id,
        "action": r.action,
        "object": {"kind": r.object_kind, "id": r.object_id},
        "tenant_id": r.tenant_id,
        "outcome": r.outcome.as_str(),
        "reason": r.reason,
        "before": r.before_digest,
        "after": r.after_digest,
        "detail": r.detail,
        "line": record.line,
        "leaf_hash": hex::encode(record.leaf_hash),
    })
}
