//! The observing middleware: a request id, a tracing span, metrics and security headers
//! for every request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use yunjian_gm::random_secret_hex;

use crate::extract::RequestId;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::AppState;

pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let request_id = random_secret_hex(8);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().to_string();
    // The path is logged, the query string and headers are not: they may carry search
    // terms or credentials.
    let span = tracing::info_span!("request", request_id = %request_id, %method, path = %request.uri().path());
    let started = Instant::now();
    state.metrics.in_flight.inc();
    let mut response = next.run(request).instrument(span.clone()).await;
    state.metrics.in_flight.dec();
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .durations
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "answered"
        )
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

/// Runs inside routing, where the matched route pattern is known, and hands it to
/// [`observe`] through the response.
pub async fn matched_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}
