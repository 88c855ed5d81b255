//! The Prometheus recorder behind the `metrics` facade, and the `/metrics` body.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::catalog::{
    self, BUILD_INFO, DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS, SECONDS_BUCKETS,
};
use crate::db::{OpenDatabase, PoolStats};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();

/// Installs the global Prometheus recorder once per process and returns its handle; `None` if
/// another `metrics` recorder was installed first (then `/metrics` is not served).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            let process = PROCESS.get_or_init(metrics_process::Collector::default);
            process.describe();
            catalog::describe();
            Some(handle)
        })
        .as_ref()
}

/// Sets `servicekit_build_info{service, version, git_sha} 1`; the sha comes from `GIT_SHA` at run
/// time (set it as a build argument of the image).
pub(crate) fn record_build_info(service: &str, version: &str) {
    let sha = std::env::var("GIT_SHA").unwrap_or_else(|_| "unknown".into());
    metrics::gauge!(
        BUILD_INFO,
        "service" => service.to_string(),
        "version" => version.to_string(),
        "git_sha" => sha
    )
    .set(1.0);
}

/// The text exposition of every metric, after sampling the gauges read at scrape time.
pub(crate) fn render(
    handle: &PrometheusHandle,
    db: Option<&dyn OpenDatabase>,
    service: &str,
) -> String {
    if let Some(process) = PROCESS.get() {
        process.collect();
    }
    if let Some(db) = db {
        let PoolStats { size, idle, max } = db.stats();
        let service = service.to_string();
        metrics::gauge!(DB_POOL_CONNECTIONS, "service" => service.clone(), "state" => "idle")
            .set(f64::from(idle));
        metrics::gauge!(DB_POOL_CONNECTIONS, "service" => service.clone(), "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
        metrics::gauge!(DB_POOL_MAX_CONNECTIONS, "service" => service).set(f64::from(max));
    }
    handle.run_upkeep();
    handle.render()
}
