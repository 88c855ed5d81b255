//! The operational router: health probes and `/metrics`.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::db::OpenDatabase;
use crate::health::{self, Health};
use crate::secrets::Secrets;
use crate::server::Quiet;
use crate::telemetry::prometheus;

/// Where the service's pool is put once it is open, for `/metrics`.
pub(crate) type DbSlot = Arc<OnceLock<Arc<dyn OpenDatabase>>>;

/// What `/metrics` reads at scrape time.
#[derive(Clone)]
struct MetricsState {
    handle: &'static PrometheusHandle,
    db: DbSlot,
    secrets: Secrets,
    service: Arc<str>,
}

/// Health probes plus, when enabled, `/metrics` (with the pool's gauges once `db` is set, and
/// the age of each secret at scrape time).
pub(crate) fn router(health: Health, config: &Config, db: DbSlot, secrets: Secrets) -> Router {
    let router = health::router(health, &config.health);
    let router = with_metrics(router, config, db, secrets);
    // Probes and scrapes arrive every few seconds: log them at DEBUG, not INFO.
    router.layer(axum::middleware::map_response(|mut res: Response| async {
        res.extensions_mut().insert(Quiet);
        res
    }))
}

fn with_metrics(router: Router, config: &Config, db: DbSlot, secrets: Secrets) -> Router {
    let handle = config.telemetry.metrics.then(prometheus::handle).flatten();
    match handle {
        Some(handle) => router.route(
            &config.telemetry.metrics_path,
            get(metrics).with_state(MetricsState {
                handle,
                db,
                secrets,
                service: config.service.name.as_str().into(),
            }),
        ),
        None => router,
    }
}

async fn metrics(State(state): State<MetricsState>) -> impl IntoResponse {
    state.secrets.record_ages();
    let body = prometheus::render(state.handle, state.db.get().map(|db| &**db), &state.service);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
