//! The client's metrics, through the `metrics` facade (no recorder is installed here; the
//! telemetry module adds the Prometheus exporter). Every series carries `client`, the
//! downstream's name from `[clients.<name>]`. The names, HELP texts and labels are defined in
//! [`telemetry::catalog`](crate::telemetry::catalog); the constants here are aliases kept for
//! code that already names them.

use std::time::Duration;

use crate::telemetry::catalog::{
    self, CLIENT_BREAKER_STATE, CLIENT_BREAKER_TRANSITIONS_TOTAL, CLIENT_BULKHEAD_REJECTIONS_TOTAL,
    CLIENT_EJECTIONS_TOTAL, CLIENT_ERRORS_TOTAL, CLIENT_REQUEST_DURATION_SECONDS,
    CLIENT_REQUESTS_TOTAL, CLIENT_RETRIES_TOTAL, CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL,
};

/// Counter of calls, by `client`, `method` and `outcome` (`ok`, `http_5xx`, `timeout`,
/// `deadline`, `circuit_open`, `bulkhead_full`, `connect`, `transport`, ...). A call is one
/// `send()`, retries included; errors are the outcomes other than `ok`.
/// An alias of [`catalog::CLIENT_REQUESTS_TOTAL`].
pub const REQUESTS_TOTAL: &str = catalog::CLIENT_REQUESTS_TOTAL;
/// Counter of failed calls, by `client` and `outcome` (the same outcomes, without `ok`).
/// An alias of [`catalog::CLIENT_ERRORS_TOTAL`].
pub const ERRORS_TOTAL: &str = catalog::CLIENT_ERRORS_TOTAL;
/// Histogram of call latency in seconds, retries included, by `client` and `method`.
/// An alias of [`catalog::CLIENT_REQUEST_DURATION_SECONDS`].
pub const REQUEST_DURATION_SECONDS: &str = catalog::CLIENT_REQUEST_DURATION_SECONDS;
/// Counter of retries made, by `client` and `reason`.
/// An alias of [`catalog::CLIENT_RETRIES_TOTAL`].
pub const RETRIES_TOTAL: &str = catalog::CLIENT_RETRIES_TOTAL;
/// Counter of retries skipped because the retry budget was spent, by `client`.
/// An alias of [`catalog::CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL`].
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = catalog::CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL;
/// Gauge of the breaker state, by `client`: 0 closed, 1 half-open, 2 open.
/// An alias of [`catalog::CLIENT_BREAKER_STATE`].
pub const BREAKER_STATE: &str = catalog::CLIENT_BREAKER_STATE;
/// Counter of breaker transitions, by `client` and the new `state`.
/// An alias of [`catalog::CLIENT_BREAKER_TRANSITIONS_TOTAL`].
pub const BREAKER_TRANSITIONS_TOTAL: &str = catalog::CLIENT_BREAKER_TRANSITIONS_TOTAL;
/// Counter of attempts rejected by the bulkhead, by `client`.
/// An alias of [`catalog::CLIENT_BULKHEAD_REJECTIONS_TOTAL`].
pub const BULKHEAD_REJECTIONS_TOTAL: &str = catalog::CLIENT_BULKHEAD_REJECTIONS_TOTAL;
/// Counter of instance ejections by passive outlier detection, by `client`.
/// An alias of [`catalog::CLIENT_EJECTIONS_TOTAL`].
pub const EJECTIONS_TOTAL: &str = catalog::CLIENT_EJECTIONS_TOTAL;

pub(crate) fn call(client: &str, method: &str, outcome: &'static str, elapsed: Duration) {
    let labels = [
        ("client", client.to_string()),
        ("method", method.to_string()),
        ("outcome", outcome.to_string()),
    ];
    metrics::counter!(CLIENT_REQUESTS_TOTAL, &labels).increment(1);
    if outcome != "ok" {
        metrics::counter!(CLIENT_ERRORS_TOTAL, "client" => client.to_string(), "outcome" => outcome)
            .increment(1);
    }
    metrics::histogram!(
        CLIENT_REQUEST_DURATION_SECONDS,
        "client" => client.to_string(),
        "method" => method.to_string()
    )
    .record(elapsed.as_secs_f64());
}

pub(crate) fn retry(client: &str, reason: &'static str) {
    metrics::counter!(CLIENT_RETRIES_TOTAL, "client" => client.to_string(), "reason" => reason)
        .increment(1);
}

pub(crate) fn budget_exhausted(client: &str) {
    metrics::counter!(CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL, "client" => client.to_string())
        .increment(1);
}

/// Sets the breaker state gauge (also at creation, so that the series exists before any
/// transition).
pub(crate) fn breaker_gauge(client: &str, value: f64) {
    metrics::gauge!(CLIENT_BREAKER_STATE, "client" => client.to_string()).set(value);
}

pub(crate) fn breaker_state(client: &str, state: &'static str, value: f64) {
    breaker_gauge(client, value);
    metrics::counter!(
        CLIENT_BREAKER_TRANSITIONS_TOTAL,
        "client" => client.to_string(),
        "state" => state
    )
    .increment(1);
}

pub(crate) fn bulkhead_rejected(client: &str) {
    metrics::counter!(CLIENT_BULKHEAD_REJECTIONS_TOTAL, "client" => client.to_string())
        .increment(1);
}

pub(crate) fn ejected(client: &str) {
    metrics::counter!(CLIENT_EJECTIONS_TOTAL, "client" => client.to_string()).increment(1);
}
