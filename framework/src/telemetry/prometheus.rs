//! The Prometheus recorder behind the `metrics` facade, and the `/metrics` body.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::Database;

/// Histogram buckets for every `*_seconds` metric: 1 ms to 10 s, dense where HTTP latencies are.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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
            describe();
            Some(handle)
        })
        .as_ref()
}

/// HELP text for every family servicekit records (`promtool check metrics` wants one per
/// family; the `metrics` facade only emits HELP for described metrics). Each name comes from
/// the constant of the module that records it.
fn describe() {
    use super::super::server::http_metrics::{ACTIVE_REQUESTS, REQUEST_DURATION, REQUESTS_TOTAL};
    crate::client::metrics::describe();
    metrics::describe_counter!(
        crate::server::rate_limit::RATE_LIMITED_TOTAL,
        "HTTP requests refused with 429 by the rate limit, by method and route template."
    );
    metrics::describe_counter!(
        crate::auth::CACHE_HITS,
        "Requests whose bearer token was found in the verified-token cache."
    );
    metrics::describe_counter!(
        crate::auth::CACHE_MISSES,
        "Requests whose bearer token had to be verified (not in the verified-token cache)."
    );
    metrics::describe_counter!(
        crate::secrets::REFRESH_FAILURES_METRIC,
        "Failed background refreshes of a secret, by reference (the last good value is kept)."
    );
    metrics::describe_gauge!(
        crate::secrets::AGE_METRIC,
        metrics::Unit::Seconds,
        "Seconds since each secret's value was last fetched successfully, by reference."
    );
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "HTTP requests served, by method, route template and status class."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request duration, by method, route template and status class."
    );
    metrics::describe_gauge!(ACTIVE_REQUESTS, "HTTP requests in flight.");
    metrics::describe_gauge!(
        "servicekit_build_info",
        "Build information of the service: always 1."
    );
    metrics::describe_gauge!(
        "servicekit_db_pool_connections",
        "Database pool connections by state (idle, in_use)."
    );
    metrics::describe_gauge!(
        "servicekit_db_pool_max_connections",
        "Largest size of the database pool."
    );
    metrics::describe_counter!(
        "servicekit_db_pool_acquire_timeouts_total",
        "Requests that found no free database connection within database.acquire_timeout."
    );
}

/// Sets `servicekit_build_info{service, version, git_sha} 1`; the sha comes from `GIT_SHA` at run
/// time (set it as a build argument of the image).
pub(crate) fn record_build_info(service: &str, version: &str) {
    let sha = std::env::var("GIT_SHA").unwrap_or_else(|_| "unknown".into());
    metrics::gauge!(
        "servicekit_build_info",
        "service" => service.to_string(),
        "version" => version.to_string(),
        "git_sha" => sha
    )
    .set(1.0);
}

/// The text exposition of every metric, after sampling the gauges read at scrape time.
pub(crate) fn render(handle: &PrometheusHandle, db: Option<&Database>, service: &str) -> String {
    if let Some(process) = PROCESS.get() {
        process.collect();
    }
    if let Some(db) = db {
        let pool = db.pool();
        let size = f64::from(pool.size());
        // `num_idle` is a usize count of at most `max_connections`, a u32.
        let idle = u32::try_from(pool.num_idle())
            .map(f64::from)
            .unwrap_or(size);
        let service = service.to_string();
        metrics::gauge!("servicekit_db_pool_connections", "service" => service.clone(), "state" => "idle").set(idle);
        metrics::gauge!("servicekit_db_pool_connections", "service" => service.clone(), "state" => "in_use")
            .set((size - idle).max(0.0));
        metrics::gauge!("servicekit_db_pool_max_connections", "service" => service)
            .set(f64::from(pool.options().get_max_connections()));
    }
    handle.run_upkeep();
    handle.render()
}
