//! API of tenant authorizations (7.2.5.5) and temporary privileges (7.5.3.5). Handlers
//! parse, call the app and render; the app decides (through the PDP) and records.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value as Json_};
use yunjian_app::{AppError, AuthorizationInput, PrivilegeInput};
use yunjian_core::ids::{AccountId, ProviderId};
use yunjian_store::{PrivilegeState, TemporaryPrivilege, TenantAuthorization};

use crate::api::{id_of, positive_id};
use crate::error::ApiError;
use crate::extract::{ApiAuth, JsonObject};
use crate::wire::timestamp;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/tenant-authorizations",
            get(list_authorizations).post(grant_authorization),
        )
        .route(
            "/tenant-authorizations/{id}/revoke",
            post(revoke_authorization),
        )
        .route("/privileges", get(list_privileges).post(request_privilege))
        .route("/privileges/{id}/approve", post(approve))
        .route("/privileges/{id}/reject", post(reject))
        .route("/privileges/{id}/revoke", post(revoke_privilege))
        .route("/security-events", get(list_events))
}

pub fn event_json(event: &yunjian_store::SecurityEvent) -> Json_ {
    json!({
        "id": event.id,
        "at": timestamp(event.at_ns),
        "source": event.source,
        "kind": event.kind,
        "severity": event.severity,
        "summary": event.summary,
        "account_id": event.account.map(|a| a.0),
        "username": event.username,
        "tenant_id": event.tenant.map(|t| t.0),
        "provider_id": event.provider.map(|p| p.0),
        "source_address": event.source_address,
        "first_at": timestamp(event.first_at_ns),
        "last_at": timestamp(event.last_at_ns),
        "records": [event.first_seq, event.last_seq],
        "count": event.event_count,
    })
}

async fn list_events(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let events = state
        .app
        .security_events(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(
        json!({"items": events.iter().map(event_json).collect::<Vec<_>>()}),
    ))
}

pub fn authorization_json(authorization: &TenantAuthorization, now_ns: i64) -> Json_ {
    json!({
        "id": authorization.id,
        "tenant_id": authorization.tenant.0,
        "provider_id": authorization.provider.0,
        "kinds": authorization.kinds,
        "object_ids": authorization.object_ids,
        "actions": authorization.actions,
        "reason": authorization.reason,
        "starts_at": timestamp(authorization.starts_at_ns),
        "expires_at": timestamp(authorization.expires_at_ns),
        "granted_by": authorization.granted_by.0,
        "granted_at": timestamp(authorization.granted_at_ns),
        "revoked_by": authorization.revoked_by.map(|a| a.0),
        "revoked_at": authorization.revoked_at_ns.map(timestamp),
        "revoke_reason": authorization.revoke_reason,
        "state": authorization_state(authorization, now_ns),
    })
}

/// "active", "pending" (starts later), "expired" or "revoked".
pub fn authorization_state(authorization: &TenantAuthorization, now_ns: i64) -> &'static str {
    if authorization.revoked_at_ns.is_some() {
        "revoked"
    } else if now_ns >= authorization.expires_at_ns {
        "expired"
    } else if now_ns < authorization.starts_at_ns {
        "pending"
    } else {
        "active"
    }
}

pub fn privilege_json(privilege: &TemporaryPrivilege) -> Json_ {
    json!({
        "id": privilege.id,
        "account_id": privilege.account.0,
        "privilege": privilege.privilege,
        "reason": privilege.reason,
        "requested_by": privilege.requested_by.0,
        "requested_at": timestamp(privilege.requested_at_ns),
        "starts_at": timestamp(privilege.starts_at_ns),
        "expires_at": timestamp(privilege.expires_at_ns),
        "state": privilege.state.as_str(),
        "decided_by": privilege.decided_by.map(|a| a.0),
        "decided_at": privilege.decided_at_ns.map(timestamp),
        "decision_note": privilege.decision_note,
    })
}

fn only(body: &Map<String, Json_>, allowed: &[&str]) -> Result<(), AppError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(AppError::invalid(
            key,
            "unknown_field",
            format!("no field '{key}'"),
        )),
        None => Ok(()),
    }
}

fn text(body: &Map<String, Json_>, key: &str) -> Result<String, AppError> {
    body.get(key)
        .and_then(Json_::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::invalid(key, "required", format!("'{key}' is required as a string"))
        })
}

fn strings(body: &Map<String, Json_>, key: &str) -> Result<Vec<String>, AppError> {
    match body.get(key) {
        Some(Json_::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    AppError::invalid(
                        key,
                        "expected_strings",
                        format!("'{key}' is a list of strings"),
                    )
                })
            })
            .collect(),
        _ => Err(AppError::invalid(
            key,
            "required",
            format!("'{key}' is required as a list"),
        )),
    }
}

fn ids(body: &Map<String, Json_>, key: &str) -> Result<Vec<i64>, AppError> {
    match body.get(key) {
        None | Some(Json_::Null) => Ok(Vec::new()),
        Some(Json_::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_i64().filter(|id| *id > 0).ok_or_else(|| {
                    AppError::invalid(
                        key,
                        "expected_ids",
                        format!("'{key}' is a list of positive ids"),
                    )
                })
            })
            .collect(),
        _ => Err(AppError::invalid(
            key,
            "expected_ids",
            format!("'{key}' is a list of positive ids"),
        )),
    }
}

/// A time as RFC 3339 (or a date, midnight Beijing time).
fn time(body: &Map<String, Json_>, key: &str) -> Result<Option<i64>, AppError> {
    match body.get(key) {
        None | Some(Json_::Null) => Ok(None),
        Some(Json_::String(text)) => yunjian_core::audit::parse_operator_time(text)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(
                    key,
                    "invalid_time",
                    format!("'{key}' is an RFC 3339 time or a date"),
                )
            }),
        Some(_) => Err(AppError::invalid(
            key,
            "invalid_time",
            format!("'{key}' is an RFC 3339 time or a date"),
        )),
    }
}

/// `expires_at`, or `days` from the start.
fn expiry(body: &Map<String, Json_>, starts: Option<i64>, now: i64) -> Result<i64, AppError> {
    if let Some(at) = time(body, "expires_at")? {
        return Ok(at);
    }
    match body.get("days").and_then(Json_::as_i64) {
        Some(days) if (1..=366).contains(&days) => {
            Ok(starts.unwrap_or(now) + days * 24 * 60 * 60 * 1_000_000_000)
        }
        _ => Err(AppError::invalid(
            "expires_at",
            "required",
            "give 'expires_at' (RFC 3339) or 'days'",
        )),
    }
}

pub fn authorization_input(
    body: &Map<String, Json_>,
    now: i64,
) -> Result<AuthorizationInput, AppError> {
    only(
        body,
        &[
            "provider_id",
            "kinds",
            "object_ids",
            "actions",
            "reason",
            "starts_at",
            "expires_at",
            "days",
        ],
    )?;
    let starts = time(body, "starts_at")?;
    Ok(AuthorizationInput {
        provider: ProviderId(positive_id(body, "provider_id")?.ok_or_else(|| {
            AppError::invalid("provider_id", "required", "'provider_id' is required")
        })?),
        kinds: strings(body, "kinds")?,
        object_ids: ids(body, "object_ids")?,
        actions: strings(body, "actions")?,
        reason: text(body, "reason")?,
        starts_at_ns: starts,
        expires_at_ns: expiry(body, starts, now)?,
    })
}

pub fn privilege_input(body: &Map<String, Json_>, now: i64) -> Result<PrivilegeInput, AppError> {
    only(
        body,
        &[
            "account_id",
            "privilege",
            "reason",
            "starts_at",
            "expires_at",
            "days",
        ],
    )?;
    let starts = time(body, "starts_at")?;
    Ok(PrivilegeInput {
        account: positive_id(body, "account_id")?.map(AccountId),
        privilege: text(body, "privilege")?,
        reason: text(body, "reason")?,
        starts_at_ns: starts,
        expires_at_ns: expiry(body, starts, now)?,
    })
}

async fn list_authorizations(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let found = state
        .app
        .authorizations(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    let now = state.app.now_ns();
    Ok(Json(json!({
        "items": found.iter().map(|a| authorization_json(a, now)).collect::<Vec<_>>()
    })))
}

async fn grant_authorization(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let request_id = &auth.context.request_id;
    let now = state.app.now_ns();
    let input = authorization_input(&body, now).map_err(|e| ApiError::from_app(e, request_id))?;
    let granted = state
        .app
        .grant_authorization(&auth.context, input)
        .await
        .map_err(|e| ApiError::from_app(e, request_id))?;
    Ok((StatusCode::CREATED, Json(authorization_json(&granted, now))))
}

async fn revoke_authorization(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let id = id_of(&id, request_id)?;
    let reason = only(&body, &["reason"])
        .and_then(|()| text(&body, "reason"))
        .map_err(|e| ApiError::from_app(e, request_id))?;
    let revoked = state
        .app
        .revoke_authorization(&auth.context, id, &reason)
        .await
        .map_err(|e| ApiError::from_app(e, request_id))?;
    Ok(Json(authorization_json(&revoked, state.app.now_ns())))
}

async fn list_privileges(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let found = state
        .app
        .privileges(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(json!({
        "items": found.iter().map(privilege_json).collect::<Vec<_>>()
    })))
}

async fn request_privilege(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let request_id = &auth.context.request_id;
    let input = privilege_input(&body, state.app.now_ns())
        .map_err(|e| ApiError::from_app(e, request_id))?;
    let requested = state
        .app
        .request_privilege(&auth.context, input)
        .await
        .map_err(|e| ApiError::from_app(e, request_id))?;
    Ok((StatusCode::CREATED, Json(privilege_json(&requested))))
}

async fn decide(
    state: &AppState,
    auth: &ApiAuth,
    id: &str,
    body: &Map<String, Json_>,
    to: PrivilegeState,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let id = id_of(id, request_id)?;
    only(body, &["note"]).map_err(|e| ApiError::from_app(e, request_id))?;
    let note = body.get("note").and_then(Json_::as_str).unwrap_or("");
    let decided = state
        .app
        .decide_privilege(&auth.context, id, to, note)
        .await
        .map_err(|e| ApiError::from_app(e, request_id))?;
    Ok(Json(privilege_json(&decided)))
}

async fn approve(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    decide(&state, &auth, &id, &body, PrivilegeState::Approved).await
}

async fn reject(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    decide(&state, &auth, &id, &body, PrivilegeState::Rejected).await
}

async fn revoke_privilege(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    decide(&state, &auth, &id, &body, PrivilegeState::Revoked).await
}
