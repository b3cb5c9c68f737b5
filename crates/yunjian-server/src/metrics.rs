//! Prometheus metrics, one registry per server (no global state, so tests can run many
//! servers in one process).

use std::sync::Mutex;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The matched route pattern (`/api/v1/{kind}/{id}`), never the raw path, so label
    /// cardinality stays bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub durations: Family<RouteLabels, Histogram>,
    pub in_flight: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("yunjian");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let in_flight = Gauge::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            durations.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being answered",
            in_flight.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register("build_info", "The running build", build);
        Metrics {
            registry: Mutex::new(registry),
            requests,
            durations,
            in_flight,
        }
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        with_event_counters(
            state.metrics.encode(),
            &state.app.event_counters().snapshot(),
        ),
    )
}

/// Appends the event centre's intake counters (item 7: received, decoded, stored,
/// spooled, replayed, dropped — UDP overruns and queue — truncated) before the
/// OpenMetrics end marker.
fn with_event_counters(
    mut text: String,
    counters: &std::collections::BTreeMap<&'static str, u64>,
) -> String {
    let end = text.rfind("# EOF").unwrap_or(text.len());
    let mut block = String::from(
        "# HELP yunjian_events Security events by intake stage (this instance).\n# TYPE yunjian_events counter\n",
    );
    for (stage, count) in counters {
        block.push_str(&format!(
            "yunjian_events_total{{stage=\"{stage}\"}} {count}\n"
        ));
    }
    text.insert_str(end, &block);
    text
}
