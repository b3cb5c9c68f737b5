//! API of the compliance engine: the catalog, runs and their results, trends and diffs,
//! evidence and attestation, waivers, parameters, contract overrides, reports and
//! evidence packages. Handlers parse, call the app and render.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value as Json_};
use yunjian_app::{
    parse_scope, AppError, Context, EvidenceInput, OverrideInput, ReportFormat, ReportKind,
    WaiverInput, MAX_EVIDENCE_BYTES,
};
use yunjian_compliance::{Catalog, PartySet, Source};
use yunjian_store::{
    ComplianceResultRow, ComplianceRun, EvidenceRecord, OverrideRecord, ResultFilter, WaiverRecord,
};

use crate::api::positive_id;
use crate::error::ApiError;
use crate::extract::{ApiAuth, JsonObject};
use crate::wire::timestamp;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/compliance/catalog", get(catalog))
        .route("/compliance/responsibility", get(responsibility))
        .route("/compliance/controls", get(controls).post(upload_control))
        .route("/compliance/controls/{id}/retire", post(retire_control))
        .route("/compliance/parameters", get(parameters))
        .route("/compliance/parameters/{key}", post(set_parameter))
        .route("/compliance/runs", get(list_runs).post(start_run))
        .route("/compliance/runs/{id}", get(read_run))
        .route("/compliance/runs/{id}/results", get(run_results))
        .route("/compliance/runs/{id}/diff", get(run_diff))
        .route("/compliance/results", get(latest_results))
        .route("/compliance/trend", get(trend))
        .route(
            "/compliance/evidence",
            get(list_evidence)
                .post(submit_evidence)
                .layer(DefaultBodyLimit::max(MAX_EVIDENCE_BYTES + 1024)),
        )
        .route("/compliance/evidence/{id}/file", get(evidence_file))
        .route(
            "/compliance/evidence/{id}/{decision}",
            post(decide_evidence),
        )
        .route(
            "/compliance/waivers",
            get(list_waivers).post(request_waiver),
        )
        .route("/compliance/waivers/{id}/{decision}", post(decide_waiver))
        .route(
            "/compliance/overrides",
            get(list_overrides).post(add_override),
        )
        .route("/compliance/reports/{kind}", get(report))
        .route("/compliance/evidence-package/{kind}", get(evidence_package))
}

fn fail(error: AppError, context: &Context) -> ApiError {
    ApiError::from_app(error, &context.request_id)
}

pub fn run_json(run: &ComplianceRun) -> Json_ {
    json!({
        "id": run.id,
        "started_at": timestamp(run.started_at_ns),
        "finished_at": timestamp(run.finished_at_ns),
        "trigger": run.trigger,
        "requested_by": run.requested_by.map(|account| account.0),
        "catalog_version": run.catalog_version,
        "parameters": serde_json::from_str::<Json_>(&run.parameters).unwrap_or(Json_::Null),
        "resources": run.resources,
        "controls": run.controls,
        "control_errors": serde_json::from_str::<Json_>(&run.control_errors).unwrap_or(Json_::Null),
        "load_ms": run.load_ms,
        "evaluate_ms": run.evaluate_ms,
        "summary": serde_json::from_str::<Json_>(&run.summary).unwrap_or(Json_::Null),
    })
}

pub fn result_json(row: &ComplianceResultRow) -> Json_ {
    json!({
        "run_id": row.run_id,
        "scope": format!("{}:{}", row.scope_kind, row.scope_id),
        "scope_kind": row.scope_kind,
        "scope_id": row.scope_id,
        "clause": row.clause_id,
        "tenant_id": row.tenant_id,
        "provider_id": row.provider_id,
        "status": row.status,
        "responsible": row.responsible,
        "must_act": row.must_act,
        "message_zh": row.message_zh,
        "message_en": row.message_en,
        "detail": serde_json::from_str::<Json_>(&row.detail).unwrap_or(Json_::Null),
    })
}

pub fn evidence_json(evidence: &EvidenceRecord) -> Json_ {
    json!({
        "id": evidence.id,
        "clause": evidence.clause_id,
        "scope": format!("{}:{}", evidence.scope_kind, evidence.scope_id),
        "tenant_id": evidence.tenant_id,
        "provider_id": evidence.provider_id,
        "file_name": evidence.file_name,
        "media_type": evidence.media_type,
        "size_bytes": evidence.size_bytes,
        "sm3": evidence.sm3,
        "observed_on": evidence.observed_on,
        "note": evidence.note,
        "valid_until": timestamp(evidence.valid_until_ns),
        "submitted_by": evidence.submitted_by.0,
        "submitted_at": timestamp(evidence.submitted_at_ns),
        "state": evidence.state,
        "decided_by": evidence.decided_by.map(|account| account.0),
        "decided_at": evidence.decided_at_ns.map(timestamp),
        "decision_note": evidence.decision_note,
    })
}

pub fn waiver_json(waiver: &WaiverRecord, now_ns: i64) -> Json_ {
    json!({
        "id": waiver.id,
        "clause": waiver.clause_id,
        "scope": format!("{}:{}", waiver.scope_kind, waiver.scope_id),
        "tenant_id": waiver.tenant_id,
        "provider_id": waiver.provider_id,
        "justification": waiver.justification,
        "expires_at": timestamp(waiver.expires_at_ns),
        "requested_by": waiver.requested_by.0,
        "requested_at": timestamp(waiver.requested_at_ns),
        "state": if waiver.state == "approved" && waiver.expires_at_ns <= now_ns { "expired" } else { waiver.state.as_str() },
        "decided_by": waiver.decided_by.map(|account| account.0),
        "decided_at": waiver.decided_at_ns.map(timestamp),
        "decision_note": waiver.decision_note,
    })
}

fn override_json(row: &OverrideRecord) -> Json_ {
    json!({
        "id": row.id,
        "tenant_id": row.tenant_id,
        "provider_id": row.provider_id,
        "component": row.component,
        "parties": row.parties,
        "contract_ref": row.contract_ref,
        "reason": row.reason,
        "created_by": row.created_by.0,
        "created_at": timestamp(row.created_at_ns),
        "revoked_at": row.revoked_at_ns.map(timestamp),
    })
}

pub fn catalog_json(catalog: &Catalog, source: Option<Source>) -> Json_ {
    let clauses: Vec<Json_> = catalog
        .clauses
        .iter()
        .map(|clause| {
            json!({
                "id": clause.id,
                "source": "guide",
                "section": clause.section,
                "title_zh": clause.short_zh(),
                "text_zh": clause.text_zh,
                "summary_en": clause.summary_en,
                "assessment": clause.assessment.as_str(),
                "parties": clause.parties.to_text(),
                "component": clause.component,
                "parameters": clause.parameters,
                "mlps": catalog.mlps_for_clause(&clause.id).map(|item| item.id.clone()).collect::<Vec<_>>(),
                "related": clause.related,
                "note": clause.note,
                "assessment_note_en": clause.assessment_note_en,
            })
        })
        .collect();
    let mlps: Vec<Json_> = catalog
        .mlps
        .iter()
        .map(|item| {
            json!({
                "id": item.id,
                "source": "mlps",
                "clause": item.clause,
                "layer_zh": item.layer_zh,
                "control_point_zh": item.control_point_zh,
                "requirement_zh": item.requirement_zh,
                "requirement_en": item.requirement_en,
                "guide": item.guide,
                "guide_note": item.guide_note,
            })
        })
        .collect();
    let sections: Vec<Json_> = catalog
        .sections
        .iter()
        .map(|section| {
            json!({"id": section.id, "title_zh": section.title_zh, "title_en": section.title_en,
                "printed_as": section.printed_as, "note": section.note})
        })
        .collect();
    let mut body = json!({"version": catalog.version});
    if source != Some(Source::Mlps) {
        body["sections"] = json!(sections);
        body["clauses"] = json!(clauses);
    }
    if source != Some(Source::Guide) {
        body["mlps"] = json!(mlps);
    }
    body
}

async fn catalog(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let source = match query.get("source").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(Source::parse(text).ok_or_else(|| {
            fail(
                AppError::invalid("source", "unknown_value", "'source' is guide or mlps"),
                &auth.context,
            )
        })?),
    };
    let catalog = state
        .app
        .compliance_catalog(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(catalog_json(&catalog, source)))
}

async fn responsibility(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let catalog = state
        .app
        .compliance_catalog(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    let overrides = state
        .app
        .responsibility_overrides(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(json!({
        "components": catalog.components.iter().map(|c| json!({"key": c.key, "zh": c.zh, "en": c.en})).collect::<Vec<_>>(),
        "annex": catalog.annex.iter().map(|row| json!({
            "service_model": row.model.as_str(), "row": row.number, "domain_zh": row.domain_zh,
            "requirements_zh": row.requirements_zh, "components": row.components, "parties": row.parties.to_text(),
        })).collect::<Vec<_>>(),
        "overrides": overrides.iter().map(override_json).collect::<Vec<_>>(),
    })))
}

pub fn custom_control_json(row: &yunjian_store::CustomControlRecord) -> Json_ {
    json!({
        "id": row.control_id, "version": row.version, "title_zh": row.title_zh, "title_en": row.title_en,
        "clauses": serde_json::from_str::<Json_>(&row.clauses).unwrap_or(Json_::Null),
        "kinds": serde_json::from_str::<Json_>(&row.kinds).unwrap_or(Json_::Null),
        "source": row.source, "sm3": row.sm3, "origin": "custom",
        "created_by": row.created_by.0, "created_at": timestamp(row.created_at_ns),
        "retired_at": row.retired_at_ns.map(timestamp),
    })
}

async fn controls(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let custom = state
        .app
        .custom_controls(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    let mut items: Vec<Json_> = yunjian_compliance::controls::all_builtins()
        .map(|control| {
            json!({
                "id": control.id, "title_zh": control.title_zh, "title_en": control.title_en,
                "clauses": control.clauses, "parameters": control.parameters, "origin": "builtin",
            })
        })
        .collect();
    items.extend(custom.iter().map(custom_control_json));
    Ok(Json(json!({ "items": items })))
}

async fn upload_control(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Json_::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let list = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Json_::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let row = state
        .app
        .upload_custom_control(
            &auth.context,
            &text("id"),
            &text("title_zh"),
            &text("title_en"),
            &list("clauses"),
            &list("kinds"),
            &text("source"),
        )
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok((StatusCode::CREATED, Json(custom_control_json(&row))))
}

async fn retire_control(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let versions = state
        .app
        .retire_custom_control(&auth.context, &id)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(json!({"id": id, "retired_versions": versions})))
}

async fn parameters(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let (catalog, configured) = state
        .app
        .compliance_parameters(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"items": catalog.parameters.iter().map(|parameter| {
        let set = configured.iter().find(|row| row.parameter == parameter.key);
        let value = set.map_or(parameter.floor, |row| row.value);
        json!({
            "key": parameter.key, "zh": parameter.zh, "en": parameter.en, "unit": parameter.unit,
            "bound": parameter.bound.symbol(), "floor": parameter.floor, "value": value,
            "configured": set.is_some(), "looser_than_floor": !parameter.bound.holds(value, parameter.floor),
            "clauses": parameter.clauses, "basis": parameter.basis,
            "set_by": set.map(|row| row.set_by.0), "set_at": set.map(|row| timestamp(row.set_at_ns)),
        })
    }).collect::<Vec<_>>()}),
    ))
}

async fn set_parameter(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(key): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let value = body.get("value").and_then(Json_::as_f64).ok_or_else(|| {
        fail(
            AppError::invalid("value", "required", "'value' is required as a number"),
            &auth.context,
        )
    })?;
    let set = state
        .app
        .set_compliance_parameter(&auth.context, &key, value)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"key": set.parameter, "value": set.value, "set_at": timestamp(set.set_at_ns)}),
    ))
}

async fn list_runs(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let runs = state
        .app
        .compliance_runs(&auth.context, 100)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"items": runs.iter().map(run_json).collect::<Vec<_>>()}),
    ))
}

async fn start_run(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let summary = state
        .app
        .run_compliance(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok((StatusCode::CREATED, Json(run_json(&summary.run))))
}

async fn read_run(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let run = state
        .app
        .compliance_run(&auth.context, Some(id))
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(run_json(&run)))
}

/// `scope`, `clause`, `status`, `open`, `limit`, `offset` from the query.
fn result_filter(query: &HashMap<String, String>) -> Result<(ResultFilter, i64, i64), AppError> {
    let mut filter = ResultFilter::default();
    if let Some(scope) = query.get("scope").filter(|text| !text.is_empty()) {
        let scope = parse_scope(scope).ok_or_else(|| {
            AppError::invalid(
                "scope",
                "invalid_scope",
                "'scope' is platform, provider:ID, tenant:ID or system:ID",
            )
        })?;
        filter.scope_kind = Some(scope.kind().to_owned());
        filter.scope_id = Some(scope.id());
    }
    filter.clause_id = query.get("clause").filter(|text| !text.is_empty()).cloned();
    if let Some(status) = query.get("status").filter(|text| !text.is_empty()) {
        if yunjian_compliance::Status::parse(status).is_none() {
            return Err(AppError::invalid(
                "status",
                "unknown_value",
                "'status' is FAIL, ERROR, MANUAL, PASS, ATTESTED, INHERITED, WAIVED or NOT_APPLICABLE",
            ));
        }
        filter.status = Some(status.clone());
    }
    filter.open_only = query.get("open").is_some_and(|open| open == "true");
    let number = |key: &str, default: i64| -> Result<i64, AppError> {
        match query.get(key) {
            None => Ok(default),
            Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                AppError::invalid(key, "invalid_number", format!("'{key}' is a whole number"))
            }),
        }
    };
    Ok((
        filter,
        number("limit", 500)?.clamp(1, 10_000),
        number("offset", 0)?,
    ))
}

async fn results_of(
    state: &AppState,
    context: &Context,
    run_id: Option<i64>,
    query: &HashMap<String, String>,
) -> Result<Json<Json_>, AppError> {
    let (filter, limit, offset) = result_filter(query)?;
    let run = state.app.compliance_run(context, run_id).await?;
    let rows = state
        .app
        .compliance_results(context, run.id, &filter, limit, offset)
        .await?;
    Ok(Json(json!({
        "run": run_json(&run),
        "items": rows.iter().map(result_json).collect::<Vec<_>>(),
        "limit": limit,
        "offset": offset,
    })))
}

async fn run_results(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    results_of(&state, &auth.context, Some(id), &query)
        .await
        .map_err(|error| fail(error, &auth.context))
}

async fn latest_results(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    results_of(&state, &auth.context, None, &query)
        .await
        .map_err(|error| fail(error, &auth.context))
}

async fn run_diff(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let from = query
        .get("from")
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| {
            fail(
                AppError::invalid("from", "required", "'from' is the earlier run's id"),
                &auth.context,
            )
        })?;
    let changes = state
        .app
        .compliance_diff(&auth.context, from, id)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"from": from, "to": id, "items": changes.iter().map(|change| json!({
        "scope": format!("{}:{}", change.scope_kind, change.scope_id), "clause": change.clause_id,
        "before": change.before, "after": change.after,
    })).collect::<Vec<_>>()}),
    ))
}

async fn trend(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let scope = query
        .get("scope")
        .and_then(|text| parse_scope(text))
        .ok_or_else(|| {
            fail(
                AppError::invalid(
                    "scope",
                    "invalid_scope",
                    "'scope' is platform, provider:ID, tenant:ID or system:ID",
                ),
                &auth.context,
            )
        })?;
    let runs = query
        .get("runs")
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or(20);
    let points = state
        .app
        .compliance_trend(&auth.context, scope, runs)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    let by_run = trend_by_run(points);
    Ok(Json(
        json!({"scope": scope.to_string(), "items": by_run.into_iter().map(|(run, at, counts)| json!({
        "run_id": run, "started_at": timestamp(at), "counts": counts,
    })).collect::<Vec<_>>()}),
    ))
}

/// Trend points (run, started, status, count), ordered by run, as one entry per run with
/// its counts per status.
pub fn trend_by_run(
    points: Vec<(i64, i64, String, i64)>,
) -> Vec<(i64, i64, BTreeMap<String, i64>)> {
    let mut by_run: Vec<(i64, i64, BTreeMap<String, i64>)> = Vec::new();
    for (run, at, status, count) in points {
        match by_run.last_mut() {
            Some((last, _, counts)) if *last == run => {
                counts.insert(status, count);
            }
            _ => by_run.push((run, at, BTreeMap::from([(status, count)]))),
        }
    }
    by_run
}

async fn list_evidence(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let items = state
        .app
        .evidence_list(&auth.context, query.get("clause").map(String::as_str))
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"items": items.iter().map(evidence_json).collect::<Vec<_>>()}),
    ))
}

fn required<'a>(query: &'a HashMap<String, String>, key: &str) -> Result<&'a str, AppError> {
    query
        .get(key)
        .map(String::as_str)
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| AppError::invalid(key, "required", format!("'{key}' is required")))
}

/// The file is the body; what it is evidence of comes in the query: `clause`, `scope`,
/// `file_name`, `observed_on`, `valid_until` (RFC 3339 or a date), `note`.
async fn submit_evidence(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let input = (|| -> Result<EvidenceInput, AppError> {
        let scope = parse_scope(required(&query, "scope")?).ok_or_else(|| {
            AppError::invalid(
                "scope",
                "invalid_scope",
                "'scope' is platform, provider:ID, tenant:ID or system:ID",
            )
        })?;
        let valid_until =
            yunjian_core::audit::parse_operator_time(required(&query, "valid_until")?).ok_or_else(
                || {
                    AppError::invalid(
                        "valid_until",
                        "invalid_time",
                        "'valid_until' is an RFC 3339 time or a date",
                    )
                },
            )?;
        Ok(EvidenceInput {
            clause_id: required(&query, "clause")?.to_owned(),
            scope,
            file_name: required(&query, "file_name")?.to_owned(),
            media_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned(),
            content: body.to_vec(),
            observed_on: required(&query, "observed_on")?.to_owned(),
            note: query.get("note").cloned().unwrap_or_default(),
            valid_until_ns: valid_until,
        })
    })()
    .map_err(|error| fail(error, &auth.context))?;
    let evidence = state
        .app
        .submit_evidence(&auth.context, input)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok((StatusCode::CREATED, Json(evidence_json(&evidence))))
}

async fn evidence_file(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (evidence, content) = state
        .app
        .evidence_file(&auth.context, id)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(download(
        content,
        "application/octet-stream",
        &evidence.file_name,
        Some(&evidence.sm3),
    ))
}

/// A file for download: never rendered inline, named safely, its SM3 in a header.
pub fn download(content: Vec<u8>, media_type: &str, name: &str, sm3: Option<&str>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencoding::encode(name)
    );
    let mut response = (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        content,
    )
        .into_response();
    if let Some(sm3) = sm3.and_then(|sm3| header::HeaderValue::from_str(&format!("sm3:{sm3}")).ok())
    {
        response.headers_mut().insert("x-yunjian-sm3", sm3);
    }
    response
}

async fn decide_evidence(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((id, decision)): Path<(i64, String)>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(fail(AppError::NotFound, &auth.context)),
    };
    let note = body.get("note").and_then(Json_::as_str).unwrap_or("");
    let evidence = state
        .app
        .decide_evidence(&auth.context, id, approve, note)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(evidence_json(&evidence)))
}

async fn list_waivers(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let items = state
        .app
        .waivers(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    let now = state.app.now_ns();
    Ok(Json(
        json!({"items": items.iter().map(|waiver| waiver_json(waiver, now)).collect::<Vec<_>>()}),
    ))
}

pub fn waiver_input(body: &Map<String, Json_>, now: i64) -> Result<WaiverInput, AppError> {
    if let Some(key) = body.keys().find(|key| {
        !["clause", "scope", "justification", "expires_at", "days"].contains(&key.as_str())
    }) {
        return Err(AppError::invalid(
            key,
            "unknown_field",
            format!("no field '{key}'"),
        ));
    }
    let text = |key: &str| {
        body.get(key)
            .and_then(Json_::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                AppError::invalid(key, "required", format!("'{key}' is required as a string"))
            })
    };
    let scope = parse_scope(&text("scope")?).ok_or_else(|| {
        AppError::invalid(
            "scope",
            "invalid_scope",
            "'scope' is platform, provider:ID, tenant:ID or system:ID",
        )
    })?;
    let expires_at_ns = match (
        body.get("expires_at").and_then(Json_::as_str),
        body.get("days").and_then(Json_::as_i64),
    ) {
        (Some(text), _) => yunjian_core::audit::parse_operator_time(text).ok_or_else(|| {
            AppError::invalid(
                "expires_at",
                "invalid_time",
                "'expires_at' is an RFC 3339 time or a date",
            )
        })?,
        (None, Some(days)) if (1..=366).contains(&days) => now + days * 86_400 * 1_000_000_000,
        _ => {
            return Err(AppError::invalid(
                "expires_at",
                "required",
                "give 'expires_at' or 'days' (1 to 366)",
            ))
        }
    };
    Ok(WaiverInput {
        clause_id: text("clause")?,
        scope,
        justification: text("justification")?,
        expires_at_ns,
    })
}

async fn request_waiver(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let now = state.app.now_ns();
    let input = waiver_input(&body, now).map_err(|error| fail(error, &auth.context))?;
    let waiver = state
        .app
        .request_waiver(&auth.context, input)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok((StatusCode::CREATED, Json(waiver_json(&waiver, now))))
}

async fn decide_waiver(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((id, decision)): Path<(i64, String)>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let note = body.get("note").and_then(Json_::as_str).unwrap_or("");
    let waiver = state
        .app
        .decide_waiver(&auth.context, id, &decision, note)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(waiver_json(&waiver, state.app.now_ns())))
}

async fn list_overrides(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let items = state
        .app
        .responsibility_overrides(&auth.context)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(Json(
        json!({"items": items.iter().map(override_json).collect::<Vec<_>>()}),
    ))
}

async fn add_override(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let input = (|| -> Result<OverrideInput, AppError> {
        let text = |key: &str| {
            body.get(key)
                .and_then(Json_::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    AppError::invalid(key, "required", format!("'{key}' is required as a string"))
                })
        };
        Ok(OverrideInput {
            tenant_id: positive_id(&body, "tenant_id")?.ok_or_else(|| {
                AppError::invalid("tenant_id", "required", "'tenant_id' is required")
            })?,
            provider_id: positive_id(&body, "provider_id")?,
            component: text("component")?,
            parties: PartySet::parse_text(&text("parties")?).ok_or_else(|| {
                AppError::invalid(
                    "parties",
                    "invalid",
                    "'parties' is provider, tenant or provider+tenant",
                )
            })?,
            contract_ref: text("contract_ref")?,
            reason: text("reason")?,
        })
    })()
    .map_err(|error| fail(error, &auth.context))?;
    let row = state
        .app
        .add_responsibility_override(&auth.context, input)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok((StatusCode::CREATED, Json(override_json(&row))))
}

fn report_request(
    kind: &str,
    query: &HashMap<String, String>,
) -> Result<(ReportKind, Option<i64>), AppError> {
    let scope = match query.get("scope").filter(|text| !text.is_empty()) {
        Some(text) => Some(parse_scope(text).ok_or_else(|| {
            AppError::invalid(
                "scope",
                "invalid_scope",
                "'scope' is platform, provider:ID or tenant:ID",
            )
        })?),
        None => None,
    };
    let report = ReportKind::parse(kind, scope).ok_or_else(|| {
        AppError::invalid(
            "kind",
            "unknown_report",
            "reports: compliance?scope=platform|provider:ID|tenant:ID, provider_periodic?scope=provider:ID, scorecard",
        )
    })?;
    let run = match query.get("run") {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::invalid("run", "invalid_number", "'run' is a run id"))?,
        ),
        None => None,
    };
    Ok((report, run))
}

async fn report(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(kind): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (report_kind, run) =
        report_request(&kind, &query).map_err(|error| fail(error, &auth.context))?;
    let format = ReportFormat::parse(query.get("format").map_or("json", String::as_str))
        .ok_or_else(|| {
            fail(
                AppError::invalid(
                    "format",
                    "unknown_value",
                    "'format' is json, csv, xlsx or pdf",
                ),
                &auth.context,
            )
        })?;
    let (report, run) = state
        .app
        .compliance_report(&auth.context, report_kind, run)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    let content = state
        .app
        .render_report(&report, format)
        .map_err(|error| fail(error, &auth.context))?;
    Ok(download(
        content,
        format.media_type(),
        &format!(
            "{}-run{}.{}",
            report_kind.slug(),
            run.id,
            format.extension()
        ),
        None,
    ))
}

async fn evidence_package(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(kind): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (report_kind, run) =
        report_request(&kind, &query).map_err(|error| fail(error, &auth.context))?;
    let package = state
        .app
        .evidence_package(&auth.context, report_kind, run)
        .await
        .map_err(|error| fail(error, &auth.context))?;
    Ok(download(
        package,
        "application/x-tar",
        &format!("{}-evidence.tar", report_kind.slug()),
        None,
    ))
}
