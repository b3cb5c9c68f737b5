//! Network isolation verification's API (issue 8): reachability queries with the path
//! and the deciding rules, findings per tenant, VPC or invariant, what-if before a
//! change, the policy-change log, and a VPC's segmentation. Handlers parse, call the
//! app and render.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value as Json_};
use yunjian_app::network::{FindingsFilter, Place, QueryInput, WhatIfInput};
use yunjian_app::{AppError, Context};
use yunjian_network::checks::Invariant;
use yunjian_network::model::Protocol;

use crate::error::ApiError;
use crate::extract::{ApiAuth, JsonObject};
use crate::provider::{id_param, limit_of};
use crate::wire::timestamp;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/network/query", post(query))
        .route("/network/findings", get(findings))
        .route("/network/what-if", post(what_if))
        .route("/network/changes", get(changes))
        .route("/network/vpcs/{id}/segmentation", get(segmentation))
}

fn fail(error: AppError, context: &Context) -> ApiError {
    ApiError::from_app(error, &context.request_id)
}

/// `vm:12`, `subnet:3`, `vpc:7`, `zone:1`, an address, or `{"vm": 12}`.
fn place(body: &Map<String, Json_>, key: &str) -> Result<Place, AppError> {
    let invalid = || {
        AppError::invalid(
            key,
            "invalid_place",
            format!("'{key}' is vm:ID, address:IP, subnet:ID, vpc:ID or zone:ID"),
        )
    };
    match body.get(key) {
        Some(Json_::String(text)) => Place::parse(text).ok_or_else(invalid),
        Some(object @ Json_::Object(_)) => {
            serde_json::from_value(object.clone()).map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

pub fn parse_protocol(text: &str) -> Option<Protocol> {
    match text {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        "icmp" => Some(Protocol::Icmp),
        _ => None,
    }
}

pub fn query_input(body: &Map<String, Json_>) -> Result<QueryInput, AppError> {
    let protocol = body
        .get("protocol")
        .and_then(Json_::as_str)
        .and_then(parse_protocol)
        .ok_or_else(|| {
            AppError::invalid("protocol", "invalid", "'protocol' is tcp, udp or icmp")
        })?;
    let port = match (protocol, body.get("port")) {
        (Protocol::Icmp, None) => 0,
        (_, Some(port)) => port
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .ok_or_else(|| AppError::invalid("port", "invalid", "'port' is 0–65535"))?,
        (_, None) => return Err(AppError::invalid("port", "required", "'port' is required")),
    };
    Ok(QueryInput {
        from: place(body, "from")?,
        to: place(body, "to")?,
        protocol,
        port,
    })
}

async fn query(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let input = query_input(&body).map_err(|error| fail(error, context))?;
    let answer = state
        .app
        .network_query(context, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!(answer)))
}

pub fn findings_filter(query: &HashMap<String, String>) -> Result<FindingsFilter, AppError> {
    let invariant = match query.get("invariant").filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(Invariant::parse(text).ok_or_else(|| {
            AppError::invalid(
                "invariant",
                "invalid",
                format!(
                    "'invariant' is one of {}",
                    Invariant::ALL.map(Invariant::as_str).join(", ")
                ),
            )
        })?),
    };
    Ok(FindingsFilter {
        tenant_id: id_param(query, "tenant_id")?,
        vpc_id: id_param(query, "vpc_id")?,
        invariant,
        limit: limit_of(query, 200) as usize,
    })
}

async fn findings(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let filter = findings_filter(&query).map_err(|error| fail(error, context))?;
    let view = state
        .app
        .network_findings(context, &filter)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "findings": view.items,
        "total": view.total,
        "by_invariant": view.by_invariant,
        "by_tenant": view.by_tenant,
        "ledger_size": view.stamp,
        "size": view.size,
        "load_ms": view.load_ms,
        "verify_ms": view.verify_ms,
    })))
}

async fn what_if(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let input: WhatIfInput = serde_json::from_value(Json_::Object(body)).map_err(|error| {
        fail(
            AppError::invalid("body", "invalid", format!("what-if body: {error}")),
            context,
        )
    })?;
    let answer = state
        .app
        .network_what_if(context, &input)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!(answer)))
}

async fn changes(
    State(state): State<AppState>,
    auth: ApiAuth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let rows = state
        .app
        .network_changes(context, limit_of(&query, 100))
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!({
        "changes": rows
            .iter()
            .map(|row| json!({
                "audit_seq": row.audit_seq,
                "at": timestamp(row.at_ns),
                "kind": row.kind,
                "object_id": row.object_id,
                "action": row.action,
                "tenant_id": row.tenant_id,
                "appeared": row.appeared,
                "disappeared": row.disappeared,
                "detail": serde_json::from_str::<Json_>(&row.detail).unwrap_or(Json_::Null),
            }))
            .collect::<Vec<_>>(),
    })))
}

async fn segmentation(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<i64>,
) -> Result<Json<Json_>, ApiError> {
    let context = &auth.context;
    let view = state
        .app
        .network_segmentation(context, id)
        .await
        .map_err(|error| fail(error, context))?;
    Ok(Json(json!(view)))
}
