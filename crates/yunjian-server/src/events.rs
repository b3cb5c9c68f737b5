//! The security event centre's API: providers' signed event batches, event search,
//! alerts, incidents and their workflow, detection rules, sources, key tenants and
//! webhooks, notifications, the situational overview and this instance's intake
//! counters. Handlers parse, call the app and render.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use yunjian_app::{
    incident_filter, AppError, Context, EventSettingsInput, IncidentDetail, LineFormat,
    RegradeInput, ReportFormat, RuleSample,
};
use yunjian_store::{
    AlertRecord, EventFilter, EventRow, EventSource, IncidentRecord, NotificationRecord,
    RuleVersion, TenantEventSettings, UnknownSender,
};

use crate::error::ApiError;
use crate::extract::{ApiAuth, JsonObject};
use crate::provider::{id_param, limit_of};
use crate::wire::timestamp;
use crate::AppState;

/// Largest event batch body: 10,000 lines of up to ~1 KiB on average.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/events/batches",
            post(push_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/events", get(search))
        .route("/events/overview", get(overview))
        .route("/events/counters", get(counters))
        .route("/events/{id}", get(event))
        .route("/alerts", get(alerts))
        .route("/incidents", get(incidents))
        .route("/incidents/{id}", get(incident))
        .route("/incidents/{id}/phase", post(advance))
        .route("/incidents/{id}/notes", post(annotate))
        .route("/incidents/{id}/assign", post(assign))
        .route("/incidents/{id}/grade", post(regrade))
        .route("/incidents/{id}/report", get(report))
        .route("/detection-rules", get(rules).post(save_rule))
        .route("/detection-rules/test", post(test_rule))
        .route("/detection-rules/{key}/versions", get(rule_versions))
        .route("/event-sources", get(sources).post(add_source))
        .route("/event-sources/unknown", get(unknown))
        .route("/event-sources/{id}/{verb}", post(enable_source))
        .route("/event-settings", get(settings))
        .route("/event-settings/{tenant_id}", put(set_settings))
        .route("/notifications", get(notifications))
}

fn fail(error: AppError, context: &Context) -> ApiError {
    ApiError::from_app(error, &context.request_id)
}

fn time_param(query: &HashMap<String, String>, key: &str) -> Result<Option<i64>, AppError> {
    match query.get(key).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|time| time.timestamp_nanos_opt())
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(key, "invalid_time", format!("'{key}' is an RFC 3339 time"))
            }),
    }
}

fn text_param(query: &HashMap<String, String>, key: &str) -> Option<String> {
    query
        .get(key)
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The search filter from query parameters (shared with the console).
pub fn event_filter(query: &HashMap<String, String>) -> Result<EventFilter, AppError> {
    Ok(EventFilter {
        since_ns: time_param(query, "since")?,
        until_ns: time_param(query, "until")?,
        class: text_param(query, "class"),
        detector: text_param(query, "detector"),
        address: text_param(query, "address"),
        source_id: id_param(query, "source_id")?,
        tenant_id: id_param(query, "tenant_id")?,
        gbz2007: text_param(query, "category"),
        text: text_param(query, "q"),
        before_id: id_param(query, "before")?,
    })
}

pub fn event_json(event: &EventRow) -> Json_ {
    json!({
        "id": event.id,
        "received_at": timestamp(event.received_ns),
        "source_time": event.source_time_ns.map(timestamp),
        "skew_ms": event.source_time_ns.map(|source| (source - event.received_ns) / 1_000_000),
        "source_id": event.source_id,
        "sender": event.sender,
        "transport": event.transport,
        "format": event.format,
        "device": event.device,
        "class": event.class,
        "family": event.family,
        "detector": event.detector,
        "src_ip": event.src_ip,
        "src_port": event.src_port,
        "dst_ip": event.dst_ip,
        "dst_port": event.dst_port,
        "protocol": event.protocol,
        "user": event.username,
        "action": event.action,
        "outcome": event.outcome,
        "rule": event.rule,
        "rule_id": event.rule_id,
        "severity": event.severity,
        "message": event.message,
        "raw": event.raw,
        "extra": event.extra.as_deref().and_then(|text| serde_json::from_str::<Json_>(text).ok()),
        "gbz2007": event.gbz2007,
        "gbt2023": event.gbt2023,
        "provider_id": event.provider_id,
        "zone_id": event.zone_id,
        "tenant_id": event.tenant_id,
        "other_tenant_id": event.other_tenant_id,
        "src_vpc_id": event.src_vpc_id,
        "src_vm_id": event.src_vm_id,
        "dst_vpc_id": event.dst_vpc_id,
        "dst_vm_id": event.dst_vm_id,
        "system_id": event.system_id,
        "dst_country": event.dst_country,
    })
}

fn concern_json(concern: &yunjian_store::Concern) -> Json_ {
    json!({
        "tenant_id": concern.tenant_id,
        "other_tenant_id": concern.other_tenant_id,
        "provider_id": concern.provider_id,
        "zone_id": concern.zone_id,
        "system_id": concern.system_id,
        "attacker": concern.attacker,
        "target": concern.target,
    })
}

pub fn alert_json(record: &AlertRecord) -> Json_ {
    let alert = &record.alert;
    json!({
        "id": record.id,
        "incident_id": record.incident_id,
        "at": timestamp(alert.at_ns),
        "rule": alert.rule_key,
        "title": alert.title,
        "severity": alert.severity,
        "incident_class": alert.incident_class,
        "gbz2007": alert.gbz2007,
        "gbt2023": alert.gbt2023,
        "event_id": alert.event_id,
        "group": alert.group_fields.as_deref().and_then(|text| serde_json::from_str::<Json_>(text).ok()),
        "aggregated": alert.aggregated,
        "concern": concern_json(&alert.concern),
    })
}

pub fn incident_json(incident: &IncidentRecord) -> Json_ {
    json!({
        "id": incident.id,
        "opened_at": timestamp(incident.opened_at_ns),
        "updated_at": timestamp(incident.updated_at_ns),
        "title": incident.title,
        "phase": incident.phase,
        "severity": incident.severity,
        "incident_class": incident.incident_class,
        "gbz2007": incident.gbz2007,
        "gbt2023": incident.gbt2023,
        "grade": incident.grade,
        "importance": incident.importance,
        "loss": incident.loss,
        "impact": incident.impact,
        "grade_reason": incident.grade_reason,
        "concern": concern_json(&incident.concern),
        "key_tenant": incident.key_tenant,
        "assignee": incident.assignee,
        "alerts": incident.alerts,
        "last_alert_at": timestamp(incident.last_alert_ns),
    })
}

fn detail_json(detail: &IncidentDetail) -> Json_ {
    let mut answer = incident_json(&detail.incident);
    answer["timeline"] = detail
        .entries
        .iter()
        .map(|entry| {
            json!({
                "id": entry.id,
                "at": timestamp(entry.at_ns),
                "account_id": entry.account_id,
                "kind": entry.kind,
                "text": entry.text,
                "data": entry.data.as_deref().and_then(|text| serde_json::from_str::<Json_>(text).ok()),
            })
        })
        .collect();
    answer["alerts_list"] = detail.alerts.iter().map(alert_json).collect();
    answer
}

fn rule_version_json(rule: &RuleVersion) -> Json_ {
    json!({
        "rule": rule.rule_key,
        "version": rule.version,
        "title": rule.title,
        "yaml": rule.yaml,
        "sm3": rule.sm3,
        "enabled": rule.enabled,
        "created_by": rule.created_by,
        "created_at": timestamp(rule.created_at_ns),
    })
}

pub fn source_json(source: &EventSource) -> Json_ {
    json!({
        "id": source.id,
        "name": source.name,
        "address": source.address,
        "kind": source.kind,
        "provider_id": source.provider_id,
        "zone_id": source.zone_id,
        "tenant_id": source.tenant_id,
        "enabled": source.enabled,
        "created_at": timestamp(source.created_at_ns),
        "last_seen_at": source.last_seen_ns.map(timestamp),
        "skew_ms": source.last_skew_ns.map(|skew| skew / 1_000_000),
        "events": source.events,
    })
}

fn unknown_json(sender: &UnknownSender) -> Json_ {
    json!({
        "address": sender.address,
        "first_seen_at": timestamp(sender.first_seen_ns),
        "last_seen_at": timestamp(sender.last_seen_ns),
        "events": sender.events,
        "sample": sender.sample,
    })
}

fn settings_json(settings: &TenantEventSettings) -> Json_ {
    json!({
        "tenant_id": settings.tenant_id,
        "key_tenant": settings.key_tenant,
        "webhook_url": settings.webhook_url,
        "webhook_secret_set": settings.webhook_secret.is_some(),
        "updated_by": settings.updated_by,
        "updated_at": timestamp(settings.updated_at_ns),
    })
}

fn notification_json(record: &NotificationRecord) -> Json_ {
    let notification = &record.notification;
    json!({
        "id": record.id,
        "at": timestamp(notification.at_ns),
        "incident_id": notification.incident_id,
        "tenant_id": notification.tenant_id,
        "channel": notification.channel,
        "state": notification.state,
        "attempts": record.attempts,
        "last_error": record.last_error,
        "subject": notification.subject,
    })
}

fn format_of(body: &serde_json::Map<String, Json_>) -> Result<LineFormat, AppError> {
    match body
        .get("format")
        .and_then(Json_::as_str)
        .unwrap_or("syslog")
    {
        "syslog" => Ok(LineFormat::Syslog),
        "eve" => Ok(LineFormat::Eve),
        _ => Err(AppError::invalid(
            "format",
            "unknown_format",
            "syslog or eve",
        )),
    }
}

async fn push_batch(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let format = format_of(&body).map_err(|error| fail(error, context))?;
    let Some(lines) = body.get("lines").and_then(Json_::as_array) else {
        return Err(fail(
            AppError::invalid("lines", "required", "'lines' is a list of strings"),
            context,
        ));
    };
    let mut texts = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        match line {
            Json_::String(text) => texts.push(text.clone()),
            // An EVE object may come as JSON itself.
            Json_::Object(_) if format == LineFormat::Eve => texts.push(line.to_string()),
            _ => {
                return Err(fail(
                    AppError::invalid(
                        &format!("lines[{index}]"),
                        "not_text",
                        "each line is a string (or, for eve, an object)",
                    ),
                    context,
                ))
            }
        }
    }
    let summary = state
        .app
        .push_events(context, format, &texts)
        .await
        .map_err(|error| fail(error, context))?;
    Ok((StatusCode::ACCEPTED, Json(json!(summary))))
}

async fn search(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let filter = event_filter(&query).map_err(|error| fail(error, context))?;
    let events = state
        .app
        .search_events(context, &filter, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "next_before": events.last().map(|event| event.id),
    })))
}

async fn event(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let event = state
        .app
        .event_detail(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(event_json(&event)))
}

async fn overview(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let days = query
        .get("days")
        .and_then(|text| text.parse().ok())
        .unwrap_or(7);
    let overview = state
        .app
        .event_overview(context, days)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!(overview)))
}

async fn counters(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    // Counters are about this instance's intake, not any tenant's data: oversight only.
    state
        .app
        .unknown_senders(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!(state.app.event_counters().snapshot())))
}

async fn alerts(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let before = id_param(&query, "before").map_err(|error| fail(error, context))?;
    let alerts = state
        .app
        .list_alerts(context, before, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "alerts": alerts.iter().map(alert_json).collect::<Vec<_>>(),
        "next_before": alerts.last().map(|alert| alert.id),
    })))
}

async fn incidents(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let mut filter = incident_filter(
        query.get("phase").map(String::as_str),
        query.get("open").is_some_and(|open| open == "true"),
        query.get("grade").map(String::as_str),
    );
    filter.tenant_id = id_param(&query, "tenant_id").map_err(|error| fail(error, context))?;
    let incidents = state
        .app
        .list_incidents(context, &filter, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "incidents": incidents.iter().map(incident_json).collect::<Vec<_>>(),
    })))
}

async fn incident(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let detail = state
        .app
        .incident_detail(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(detail_json(&detail)))
}

fn text_of<'a>(body: &'a serde_json::Map<String, Json_>, key: &str) -> &'a str {
    body.get(key).and_then(Json_::as_str).unwrap_or("")
}

async fn advance(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let incident = state
        .app
        .advance_incident(context, id, text_of(&body, "phase"), text_of(&body, "note"))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(incident_json(&incident)))
}

async fn annotate(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let context = &auth.context;
    let kind = body.get("kind").and_then(Json_::as_str).unwrap_or("note");
    state
        .app
        .annotate_incident(context, id, kind, text_of(&body, "text"))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assign(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let incident = state
        .app
        .assign_incident(context, id, text_of(&body, "assignee"))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(incident_json(&incident)))
}

async fn regrade(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let input = RegradeInput {
        importance: text_of(&body, "importance").to_owned(),
        loss: text_of(&body, "loss").to_owned(),
        impact: text_of(&body, "impact").to_owned(),
        reason: text_of(&body, "reason").to_owned(),
    };
    let incident = state
        .app
        .regrade_incident(context, id, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(incident_json(&incident)))
}

/// The handling report as JSON or a Chinese PDF (also CSV, XLSX).
pub async fn report_download(
    state: &AppState,
    context: &Context,
    id: i64,
    format: &str,
) -> Result<Response, AppError> {
    let format = ReportFormat::parse(format)
        .ok_or_else(|| AppError::invalid("format", "unknown_format", "json, csv, xlsx or pdf"))?;
    let report = state.app.incident_report(context, id).await?;
    let bytes = state.app.render_report(&report, format)?;
    let sm3 = yunjian_gm::Sm3Digest::of(&bytes).to_hex();
    Ok(crate::compliance::download(
        bytes,
        format.media_type(),
        &format!("incident-{id}.{}", format.extension()),
        Some(&sm3),
    ))
}

async fn report(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let context = &auth.context;
    let format = query.get("format").map_or("json", String::as_str);
    report_download(&state, context, id, format)
        .await
        .map_err(|error| fail(error, context))
}

async fn rules(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let rules = state
        .app
        .detection_rules(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({"rules": rules})))
}

async fn save_rule(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let enabled = body.get("enabled").and_then(Json_::as_bool).unwrap_or(true);
    let rule = state
        .app
        .save_detection_rule(context, text_of(&body, "yaml"), enabled)
        .await
        .map_err(|error| fail(error, context))?;
    Ok((StatusCode::CREATED, Json(rule_version_json(&rule))))
}

async fn test_rule(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let samples: Vec<RuleSample> = serde_json::from_value(
        body.get("samples")
            .cloned()
            .unwrap_or(Json_::Array(Vec::new())),
    )
    .map_err(|error| {
        fail(
            AppError::invalid(
                "samples",
                "invalid_samples",
                format!("[{{at_seconds, format: syslog|eve, line}}]: {error}"),
            ),
            context,
        )
    })?;
    let hits = state
        .app
        .test_detection_rule(context, text_of(&body, "yaml"), &samples)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({"hits": hits})))
}

async fn rule_versions(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(key): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let versions = state
        .app
        .detection_rule_history(context, &key)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "versions": versions.iter().map(rule_version_json).collect::<Vec<_>>(),
    })))
}

async fn sources(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let sources = state
        .app
        .event_sources(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({"sources": sources.iter().map(source_json).collect::<Vec<_>>()}),
    ))
}

fn optional_id(body: &serde_json::Map<String, Json_>, key: &str) -> Result<Option<i64>, AppError> {
    match body.get(key) {
        None | Some(Json_::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(key, "invalid_id", format!("'{key}' is a positive id"))
            }),
    }
}

/// A source from a JSON body or a form (shared with the console).
pub fn source_input(
    body: &serde_json::Map<String, Json_>,
) -> Result<yunjian_store::NewEventSource, AppError> {
    Ok(yunjian_store::NewEventSource {
        name: text_of(body, "name").to_owned(),
        address: text_of(body, "address").to_owned(),
        kind: text_of(body, "kind").to_owned(),
        provider_id: optional_id(body, "provider_id")?,
        zone_id: optional_id(body, "zone_id")?,
        tenant_id: optional_id(body, "tenant_id")?,
    })
}

async fn add_source(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let context = &auth.context;
    let input = source_input(&body).map_err(|error| fail(error, context))?;
    let source = state
        .app
        .add_event_source(context, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok((StatusCode::CREATED, Json(source_json(&source))))
}

async fn enable_source(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((id, verb)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let context = &auth.context;
    let enabled = match verb.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(fail(AppError::NotFound, context)),
    };
    state
        .app
        .set_event_source_enabled(context, id, enabled)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unknown(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let senders = state
        .app
        .unknown_senders(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({"senders": senders.iter().map(unknown_json).collect::<Vec<_>>()}),
    ))
}

async fn settings(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let settings = state
        .app
        .event_settings(context)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(
        json!({"settings": settings.iter().map(settings_json).collect::<Vec<_>>()}),
    ))
}

async fn set_settings(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(tenant_id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let context = &auth.context;
    let input = EventSettingsInput {
        key_tenant: body.get("key_tenant").and_then(Json_::as_bool),
        webhook_url: body
            .get("webhook_url")
            .and_then(Json_::as_str)
            .map(str::to_owned),
        webhook_secret: body
            .get("webhook_secret")
            .and_then(Json_::as_str)
            .map(str::to_owned),
    };
    state
        .app
        .set_event_settings(context, tenant_id, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn notifications(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let notifications = state
        .app
        .notifications(context, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "notifications": notifications.iter().map(notification_json).collect::<Vec<_>>(),
    })))
}
