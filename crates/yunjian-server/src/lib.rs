//! HTTP surfaces of yunjian: the JSON API under `/api/v1`, the console, `/healthz`,
//! `/metrics` and `/api/openapi.json`.
//!
//! Handlers are thin: they authenticate, turn the request into a call on
//! [`yunjian_app::App`] and render the answer. Errors become a status and a stable code;
//! internal text never reaches a client, only a request id to find it in the logs.

mod api;
mod audit;
mod compliance;
mod console;
mod error;
mod events;
mod extract;
pub mod fake_openstack;
mod grants;
mod metrics;
mod middleware;
mod network;
mod openapi;
mod provider;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use yunjian_app::App;

pub use metrics::Metrics;
pub use openapi::openapi_document;

/// HTTP settings that are not the app's business.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Mark cookies `Secure` (set when the console is served over TLS, directly or
    /// behind a proxy).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            secure_cookies: true,
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpSettings>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(app: App, http: HttpSettings) -> AppState {
        AppState {
            app,
            http: Arc::new(http),
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_body = state.http.max_body_bytes;
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/openapi.json", get(openapi::serve))
        .nest("/api/v1", api::routes())
        .merge(console::routes())
        .route_layer(axum::middleware::from_fn(middleware::matched_route))
        .fallback(console::not_found)
        .layer(DefaultBodyLimit::max(max_body))
        // Inside `observe` (which sets the request id), outside the routes.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::signed_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
