//! The audit ledger's API under `/api/v1/audit`: records, checkpoint, public key,
//! proofs, export bundles, the anomaly report and an online re-verification.

use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use yunjian_app::{AppError, AuditQuery, ExportRange};
use yunjian_core::ledger::Hash;
use yunjian_store::AuditOutcome;

use crate::error::ApiError;
use crate::extract::ApiAuth;
use crate::wire;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit/records", get(records))
        .route("/audit/records/{seq}", get(record))
        .route("/audit/checkpoint", get(checkpoint))
        .route("/audit/public-key", get(public_key))
        .route("/audit/proof/inclusion", get(inclusion))
        .route("/audit/proof/consistency", get(consistency))
        .route("/audit/export", get(export))
        .route("/audit/anomalies", get(anomalies))
        .route("/audit/verify", post(verify))
}

const NS: i64 = 1_000_000_000;

pub(crate) use yunjian_core::audit::parse_operator_time as parse_time;

pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: Option<&str>) -> Params {
        Params(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .filter(|(_, value)| !value.is_empty())
                .collect(),
        )
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    fn invalid(name: &str, what: &str) -> AppError {
        AppError::invalid(
            name,
            "invalid_parameter",
            format!("'{name}' must be {what}"),
        )
    }

    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, AppError> {
        self.text(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| Params::invalid(name, "a non-negative integer"))
            })
            .transpose()
    }

    /// Two numbers that are both required.
    fn pair(&self, first: &str, second: &str) -> Result<(u64, u64), AppError> {
        match (self.number(first)?, self.number(second)?) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(AppError::invalid(
                first,
                "required",
                format!("give {first} and {second}"),
            )),
        }
    }

    pub(crate) fn time(&self, name: &str) -> Result<Option<i64>, AppError> {
        self.text(name)
            .map(|value| {
                parse_time(&value)
                    .ok_or_else(|| Params::invalid(name, "an RFC 3339 time or a date YYYY-MM-DD"))
            })
            .transpose()
    }

    pub(crate) fn query(&self) -> Result<AuditQuery, AppError> {
        let outcome = self
            .text("outcome")
            .map(|value| {
                AuditOutcome::parse(&value)
                    .ok_or_else(|| Params::invalid("outcome", "succeeded, denied or failed"))
            })
            .transpose()?;
        let limit = self.number("limit")?.unwrap_or(100).clamp(1, 1000) as u32;
        Ok(AuditQuery {
            actor: self.text("actor"),
            action: self.text("action"),
            object_kind: self.text("object_kind"),
            object_id: self.number("object_id")?.map(|id| id as i64),
            tenant_id: self.number("tenant")?.map(|id| id as i64),
            outcome,
            from_ns: self.time("from")?,
            to_ns: self.time("to")?,
            before_seq: self.number("before")?,
            limit,
        })
    }
}

fn api<T>(result: Result<T, AppError>, request_id: &str) -> Result<T, ApiError> {
    result.map_err(|error| ApiError::from_app(error, request_id))
}

fn base64_hashes(hashes: &[Hash]) -> Vec<String> {
    use base64::Engine;
    hashes
        .iter()
        .map(|hash| base64::engine::general_purpose::STANDARD.encode(hash))
        .collect()
}

async fn records(
    State(state): State<AppState>,
    auth: ApiAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let id = &auth.context.request_id;
    let query = api(Params::parse(query.as_deref()).query(), id)?;
    let records = api(state.app.audit_records(&auth.context, &query).await, id)?;
    let next = (records.len() == query.limit as usize)
        .then(|| records.last().map(|record| record.seq))
        .flatten();
    Ok(Json(json!({
        "items": records.iter().map(wire::audit_json).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

async fn record(
    State(state): State<AppState>,
    auth: ApiAuth,
    axum::extract::Path(seq): axum::extract::Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let id = &auth.context.request_id;
    let seq = api(
        seq.parse::<u64>().map_err(|_| {
            AppError::invalid(
                "seq",
                "invalid_id",
                "sequence numbers are non-negative integers",
            )
        }),
        id,
    )?;
    let record = api(state.app.audit_record(&auth.context, seq).await, id)?;
    Ok(Json(wire::audit_json(&record)))
}

fn text(body: String) -> Response {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

async fn checkpoint(State(state): State<AppState>, auth: ApiAuth) -> Result<Response, ApiError> {
    let checkpoint = api(state.app.audit_checkpoint().await, &auth.context.request_id)?;
    Ok(text(checkpoint.note))
}

async fn public_key(State(state): State<AppState>, auth: ApiAuth) -> Result<Response, ApiError> {
    let key = api(state.app.audit_public_key().await, &auth.context.request_id)?;
    Ok(text(format!("{key}\n")))
}

async fn inclusion(
    State(state): State<AppState>,
    auth: ApiAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let id = &auth.context.request_id;
    let (index, size) = api(Params::parse(query.as_deref()).pair("index", "size"), id)?;
    let proof = api(
        state
            .app
            .audit_inclusion_proof(&auth.context, index, size)
            .await,
        id,
    )?;
    Ok(Json(
        json!({"index": index, "size": size, "proof": base64_hashes(&proof)}),
    ))
}

async fn consistency(
    State(state): State<AppState>,
    auth: ApiAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let id = &auth.context.request_id;
    let (from, to) = api(Params::parse(query.as_deref()).pair("from", "to"), id)?;
    let proof = api(state.app.audit_consistency_proof(from, to).await, id)?;
    Ok(Json(
        json!({"from": from, "to": to, "proof": base64_hashes(&proof)}),
    ))
}

async fn export(
    State(state): State<AppState>,
    auth: ApiAuth,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = &auth.context.request_id;
    let params = Params::parse(query.as_deref());
    let range = ExportRange {
        from_seq: api(params.number("from_seq"), id)?,
        to_seq: api(params.number("to_seq"), id)?,
        from_ns: api(params.time("from"), id)?,
        to_ns: api(params.time("to"), id)?,
    };
    api(bundle_response(&state.app, &auth.context, &range).await, id)
}

/// Writes the caller's export to an anonymous temporary file and streams it back, so a
/// large bundle never sits in memory whole.
pub(crate) async fn bundle_response(
    app: &yunjian_app::App,
    context: &yunjian_app::Context,
    range: &ExportRange,
) -> Result<Response, AppError> {
    use std::io::{Seek, SeekFrom};
    let io = |error: std::io::Error| AppError::Internal(format!("export file: {error}"));
    let file = tempfile::tempfile().map_err(io)?;
    let mut writer = std::io::BufWriter::new(file);
    let summary = app.audit_export(context, range, &mut writer).await?;
    let mut file = writer
        .into_inner()
        .map_err(|error| io(error.into_error()))?;
    let length = file.seek(SeekFrom::End(0)).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let name = format!(
        "attachment; filename=\"yunjian-audit-{}-{}-{}.tar\"",
        summary.scope, summary.from, summary.to
    );
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/x-tar")),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (
                axum::http::header::CONTENT_LENGTH,
                HeaderValue::from(length),
            ),
        ],
        body,
    )
        .into_response())
}

async fn anomalies(
    State(state): State<AppState>,
    auth: ApiAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let id = &auth.context.request_id;
    let params = Params::parse(query.as_deref());
    let now = state.app.now_ns();
    let to = api(params.time("to"), id)?.unwrap_or(now);
    let from = api(params.time("from"), id)?.unwrap_or(to - 86_400 * NS);
    let report = api(state.app.audit_anomalies(&auth.context, from, to).await, id)?;
    Ok(Json(serde_json::to_value(report).unwrap_or(Json_::Null)))
}

async fn verify(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let report = api(
        state.app.audit_verify_online(&auth.context).await,
        &auth.context.request_id,
    )?;
    Ok(Json(serde_json::to_value(report).unwrap_or(Json_::Null)))
}
