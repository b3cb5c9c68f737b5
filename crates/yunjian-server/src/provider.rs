//! The standard provider API (docs/provider-api.md) and the provider interface's reads
//! and configuration: snapshots in chunks, usage samples, change history, connector
//! health, set-aside objects, project mappings, the image registry. Handlers parse, call
//! the app and render.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use yunjian_app::{AppError, ConnectorInput, Context, RegistryInput, MAX_CHUNK_BYTES};
use yunjian_store::{
    ChangeFilter, ChangeRecord, ChunkRecord, ConnectorRecord, HealthRecord, ProjectMapping,
    RegistryEntry, SyncRecord, UnassignedRecord, UsageSample,
};

use crate::api::positive_id;
use crate::error::ApiError;
use crate::extract::{ApiAuth, JsonObject};
use crate::wire::timestamp;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/provider/snapshots", post(open_snapshot))
        .route("/provider/snapshots/{id}", get(snapshot_status))
        .route(
            "/provider/snapshots/{id}/chunks/{seq}",
            put(stage_chunk).layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES)),
        )
        .route("/provider/snapshots/{id}/commit", post(commit_snapshot))
        .route("/provider/usage", get(usage).post(push_usage))
        .route("/provider/usage-report", get(usage_report))
        .route("/provider/syncs", get(syncs))
        .route("/provider/changes", get(changes))
        .route("/provider/health", get(health))
        .route("/provider/unassigned", get(unassigned))
        .route("/provider/projects", get(projects).post(map_project))
        .route("/provider/images", get(images).post(register_image))
        .route("/provider/images/{id}/revoke", post(revoke_image))
        .route("/provider/connectors", get(connectors).post(add_connector))
        .route("/provider/connectors/{id}/run", post(run_connector))
        .route("/provider/connectors/{id}/{verb}", post(enable_connector))
}

fn fail(error: AppError, context: &Context) -> ApiError {
    ApiError::from_app(error, &context.request_id)
}

pub fn sync_json(sync: &SyncRecord) -> Json_ {
    json!({
        "id": sync.id,
        "provider_id": sync.provider_id,
        "request_id": sync.request_id,
        "mode": sync.mode,
        "origin": sync.origin,
        "state": sync.state,
        "opened_at": timestamp(sync.opened_at_ns),
        "finished_at": sync.finished_at_ns.map(timestamp),
        "objects": sync.objects,
        "created": sync.created,
        "changed": sync.changed,
        "deleted": sync.deleted,
        "unchanged": sync.unchanged,
        "unassigned": sync.unassigned,
        "digest": sync.digest,
        "problems": sync.problems.as_deref().and_then(|text| serde_json::from_str::<Json_>(text).ok()),
    })
}

fn chunk_json(chunk: &ChunkRecord) -> Json_ {
    json!({ "seq": chunk.seq, "objects": chunk.objects, "sm3": chunk.digest })
}

pub fn change_json(change: &ChangeRecord) -> Json_ {
    json!({
        "id": change.id,
        "sync_id": change.sync_id,
        "provider_id": change.provider_id,
        "tenant_id": change.tenant_id,
        "kind": change.kind,
        "object_id": change.object_id,
        "external_id": change.external_id,
        "name": change.name,
        "change": change.change,
        "detail": serde_json::from_str::<Json_>(&change.detail).unwrap_or(Json_::Null),
        "at": timestamp(change.at_ns),
    })
}

pub fn health_json(health: &HealthRecord, now_ns: i64) -> Json_ {
    json!({
        "provider_id": health.provider_id,
        "connector": health.connector,
        "last_attempt_at": health.last_attempt_at_ns.map(timestamp),
        "last_success_at": health.last_success_at_ns.map(timestamp),
        "freshness_s": health.last_success_at_ns.map(|at| (now_ns - at) / 1_000_000_000),
        "latency_ms": health.latency_ms,
        "last_error": health.last_error,
        "failures": health.failures,
        "next_attempt_at": health.next_attempt_at_ns.map(timestamp),
        "objects": health.objects,
    })
}

fn unassigned_json(object: &UnassignedRecord) -> Json_ {
    json!({
        "provider_id": object.provider_id,
        "kind": object.kind,
        "external_id": object.external_id,
        "project": object.project,
        "reason": object.reason,
        "sync_id": object.sync_id,
    })
}

fn mapping_json(mapping: &ProjectMapping) -> Json_ {
    json!({
        "provider_id": mapping.provider_id,
        "project": mapping.project,
        "tenant_id": mapping.tenant_id,
        "mapped_by": mapping.mapped_by,
        "mapped_at": timestamp(mapping.mapped_at_ns),
    })
}

pub fn registry_json(entry: &RegistryEntry) -> Json_ {
    json!({
        "id": entry.id,
        "provider_id": entry.provider_id,
        "name": entry.name,
        "os": entry.os,
        "sm3_digest": entry.sm3_digest,
        "provider_digest": entry.provider_digest,
        "note": entry.note,
        "approved_by": entry.approved_by,
        "approved_at": timestamp(entry.approved_at_ns),
        "revoked_by": entry.revoked_by,
        "revoked_at": entry.revoked_at_ns.map(timestamp),
    })
}

fn usage_json(sample: &UsageSample) -> Json_ {
    json!({
        "provider_id": sample.provider_id,
        "tenant_id": sample.tenant_id,
        "zone_id": sample.zone_id,
        "metric": sample.metric,
        "at": timestamp(sample.at_ns),
        "value": sample.value,
    })
}

fn text_field<'a>(
    body: &'a serde_json::Map<String, Json_>,
    key: &str,
) -> Result<&'a str, AppError> {
    body.get(key)
        .and_then(Json_::as_str)
        .ok_or_else(|| AppError::invalid(key, "required", format!("'{key}' is required")))
}

fn optional_text(body: &serde_json::Map<String, Json_>, key: &str) -> Option<String> {
    body.get(key)
        .and_then(Json_::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

async fn open_snapshot(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let request_id = text_field(&body, "request_id").map_err(|error| fail(error, context))?;
    let mode = body.get("mode").and_then(Json_::as_str).unwrap_or("full");
    let sync = state
        .app
        .open_snapshot(context, request_id, mode)
        .await
        .map_err(|error| fail(error, context))?;
    let chunks = state
        .app
        .snapshot_status(context, sync.id)
        .await
        .map_err(|error| fail(error, context))?
        .1;
    let mut answer = sync_json(&sync);
    answer["chunks"] = chunks.iter().map(chunk_json).collect();
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn snapshot_status(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let (sync, chunks) = state
        .app
        .snapshot_status(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    let mut answer = sync_json(&sync);
    answer["chunks"] = chunks.iter().map(chunk_json).collect();
    Ok(Json(answer))
}

async fn stage_chunk(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((id, seq)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let chunk = state
        .app
        .stage_chunk(context, id, seq, &body)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(chunk_json(&chunk)))
}

async fn commit_snapshot(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let expected = positive_id(&body, "chunks").map_err(|error| fail(error, context))?;
    let summary = state
        .app
        .commit_snapshot(context, id, expected)
        .await
        .map_err(|error| fail(error, context))?;
    let mut answer = sync_json(&summary.sync);
    answer["image_alerts"] = json!(summary.alerts);
    answer["plan_ms"] = json!(summary.plan_ms);
    answer["apply_ms"] = json!(summary.apply_ms);
    Ok(Json(answer))
}

async fn push_usage(
    State(state): State<AppState>,
    auth: ApiAuth,
    body: Bytes,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let stored = state
        .app
        .push_usage(context, &body)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({ "stored": stored })))
}

fn time_param(query: &HashMap<String, String>, key: &str, default: i64) -> Result<i64, AppError> {
    match query.get(key) {
        None => Ok(default),
        Some(text) => yunjian_core::audit::parse_operator_time(text).ok_or_else(|| {
            AppError::invalid(
                key,
                "invalid_time",
                format!("'{key}' is an RFC 3339 time or a date"),
            )
        }),
    }
}

async fn usage(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let now = state.app.now_ns();
    let since = time_param(&query, "since", now - 31 * 86_400 * 1_000_000_000)
        .map_err(|error| fail(error, context))?;
    let until = time_param(&query, "until", now + 1).map_err(|error| fail(error, context))?;
    let samples = state
        .app
        .usage(
            context,
            query.get("metric").map(String::as_str),
            since,
            until,
        )
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "samples": samples.iter().map(usage_json).collect::<Vec<_>>() }),
    ))
}

pub(crate) fn limit_of(query: &HashMap<String, String>, default: i64) -> i64 {
    query
        .get("limit")
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or(default)
        .clamp(1, 1_000)
}

pub(crate) fn id_param(
    query: &HashMap<String, String>,
    key: &str,
) -> Result<Option<i64>, AppError> {
    match query.get(key) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(key, "invalid_id", format!("'{key}' is a positive id"))
            }),
    }
}

async fn syncs(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let syncs = state
        .app
        .syncs(context, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "syncs": syncs.iter().map(sync_json).collect::<Vec<_>>() }),
    ))
}

async fn changes(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let filter = (|| -> Result<ChangeFilter, AppError> {
        Ok(ChangeFilter {
            provider_id: id_param(&query, "provider_id")?,
            kind: query.get("kind").cloned(),
            object_id: id_param(&query, "object_id")?,
            sync_id: id_param(&query, "sync_id")?,
            before_id: id_param(&query, "before")?,
        })
    })()
    .map_err(|error| fail(error, context))?;
    let changes = state
        .app
        .resource_changes(context, &filter, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
        "next_before": changes.last().map(|change| change.id),
    })))
}

async fn health(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let records = state
        .app
        .connector_health(context)
        .await
        .map_err(|error| fail(error, context))?;
    let now = state.app.now_ns();
    Ok(Json(json!({
        "connectors": records.iter().map(|health| health_json(health, now)).collect::<Vec<_>>()
    })))
}

async fn unassigned(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let objects = state
        .app
        .unassigned_objects(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "objects": objects.iter().map(unassigned_json).collect::<Vec<_>>() }),
    ))
}

async fn projects(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let mappings = state
        .app
        .project_mappings(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "projects": mappings.iter().map(mapping_json).collect::<Vec<_>>() }),
    ))
}

async fn map_project(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let (provider, project, tenant) = (|| -> Result<(i64, String, Option<i64>), AppError> {
        let provider = positive_id(&body, "provider_id")?.ok_or_else(|| {
            AppError::invalid("provider_id", "required", "'provider_id' is required")
        })?;
        Ok((
            provider,
            text_field(&body, "project")?.to_owned(),
            positive_id(&body, "tenant_id")?,
        ))
    })()
    .map_err(|error| fail(error, context))?;
    let previous = state
        .app
        .map_project(context, provider, &project, tenant)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "provider_id": provider, "project": project, "tenant_id": tenant, "previous_tenant_id": previous,
    })))
}

async fn images(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let entries = state
        .app
        .image_registry(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "images": entries.iter().map(registry_json).collect::<Vec<_>>() }),
    ))
}

async fn register_image(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let input = (|| -> Result<RegistryInput, AppError> {
        Ok(RegistryInput {
            provider_id: positive_id(&body, "provider_id")?,
            name: optional_text(&body, "name").unwrap_or_default(),
            os: optional_text(&body, "os"),
            sm3_digest: optional_text(&body, "sm3_digest"),
            provider_digest: optional_text(&body, "provider_digest"),
            note: optional_text(&body, "note"),
        })
    })()
    .map_err(|error| fail(error, context))?;
    let entry = state
        .app
        .register_image(context, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok((StatusCode::CREATED, Json(registry_json(&entry))))
}

async fn revoke_image(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let context = &auth.context;
    state
        .app
        .revoke_image(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(StatusCode::NO_CONTENT)
}

fn connector_json(connector: &ConnectorRecord) -> Json_ {
    json!({
        "id": connector.id,
        "provider_id": connector.provider_id,
        "kind": connector.kind,
        "endpoint": connector.endpoint,
        "settings": serde_json::from_str::<Json_>(&connector.settings).unwrap_or(Json_::Null),
        "secret": connector.secret.as_ref().map(|_| "<sealed>"),
        "interval_s": connector.interval_s,
        "enabled": connector.enabled,
        "created_by": connector.created_by,
        "created_at": timestamp(connector.created_at_ns),
    })
}

async fn connectors(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let connectors = state
        .app
        .connectors(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({ "connectors": connectors.iter().map(connector_json).collect::<Vec<_>>() }),
    ))
}

async fn add_connector(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let input = (|| -> Result<ConnectorInput, AppError> {
        Ok(ConnectorInput {
            provider_id: positive_id(&body, "provider_id")?.ok_or_else(|| {
                AppError::invalid("provider_id", "required", "'provider_id' is required")
            })?,
            kind: text_field(&body, "kind")?.to_owned(),
            endpoint: text_field(&body, "endpoint")?.to_owned(),
            settings: body
                .get("settings")
                .and_then(Json_::as_object)
                .cloned()
                .unwrap_or_default(),
            secret: optional_text(&body, "secret"),
            interval_s: body
                .get("interval_s")
                .and_then(Json_::as_i64)
                .unwrap_or(900),
        })
    })()
    .map_err(|error| fail(error, context))?;
    let id = state
        .app
        .add_connector(context, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

async fn run_connector(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let outcome = state
        .app
        .run_connector(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(match outcome.result {
        Ok(summary) => json!({ "connector": id, "ok": true, "summary": summary }),
        Err(error) => json!({ "connector": id, "ok": false, "error": error }),
    }))
}

async fn enable_connector(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((id, verb)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let context = &auth.context;
    let enabled = match verb.as_str() {
        "enable" => true,
        "disable" => false,
        _ => {
            return Err(fail(
                AppError::invalid("verb", "unknown_verb", "enable or disable"),
                context,
            ))
        }
    };
    state
        .app
        .set_connector_enabled(context, id, enabled)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn usage_report(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<axum::response::Response, ApiError> {
    let context = &auth.context;
    let result = async {
        let scope = match query.get("scope").map(String::as_str) {
            None | Some("platform") => yunjian_compliance::Scope::Platform,
            Some(text) => yunjian_app::parse_scope(text).ok_or_else(|| {
                AppError::invalid(
                    "scope",
                    "invalid_scope",
                    "platform, provider:ID or tenant:ID",
                )
            })?,
        };
        usage_report_file(&state, context, scope, &query, "json").await
    }
    .await;
    result.map_err(|error| fail(error, context))
}

/// The monthly usage report of a scope as a file (`month`, `format` from the query),
/// for the API and the console.
pub(crate) async fn usage_report_file(
    state: &AppState,
    context: &Context,
    scope: yunjian_compliance::Scope,
    query: &HashMap<String, String>,
    default_format: &str,
) -> Result<axum::response::Response, AppError> {
    let month = match query.get("month") {
        None => yunjian_app::Month::of(state.app.now_ns()),
        Some(text) => yunjian_app::Month::parse(text)
            .ok_or_else(|| AppError::invalid("month", "invalid_month", "'month' is YYYY-MM"))?,
    };
    let format = yunjian_app::ReportFormat::parse(
        query.get("format").map_or(default_format, String::as_str),
    )
    .ok_or_else(|| AppError::invalid("format", "unknown_value", "json, csv, xlsx or pdf"))?;
    let report = state.app.usage_report(context, scope, month).await?;
    let content = state.app.render_report(&report, format)?;
    Ok(crate::compliance::download(
        content,
        format.media_type(),
        &format!(
            "usage-{}-{}-{}.{}",
            scope.kind(),
            scope.id(),
            month.label(),
            format.extension()
        ),
        None,
    ))
}
