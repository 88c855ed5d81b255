//! The client's metrics, through the `metrics` facade (no recorder is installed here; the
//! telemetry module adds the Prometheus exporter). Every series carries `client`, the
//! downstream's name from `[clients.<name>]`.

use std::time::Duration;

/// Counter of calls, by `client`, `method` and `outcome` (`ok`, `http_5xx`, `timeout`,
/// `deadline`, `circuit_open`, `bulkhead_full`, `connect`, `transport`, ...). A call is one
/// `send()`, retries included; errors are the outcomes other than `ok`.
pub const REQUESTS_TOTAL: &str = "servicekit_client_requests_total";
/// Counter of failed calls, by `client` and `outcome` (the same outcomes, without `ok`).
pub const ERRORS_TOTAL: &str = "servicekit_client_errors_total";
/// Histogram of call latency in seconds, retries included, by `client` and `method`.
pub const REQUEST_DURATION_SECONDS: &str = "servicekit_client_request_duration_seconds";
/// Counter of retries made, by `client` and `reason`.
pub const RETRIES_TOTAL: &str = "servicekit_client_retries_total";
/// Counter of retries skipped because the retry budget was spent, by `client`.
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "servicekit_client_retry_budget_exhausted_total";
/// Gauge of the breaker state, by `client`: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "servicekit_client_breaker_state";
/// Counter of breaker transitions, by `client` and the new `state`.
pub const BREAKER_TRANSITIONS_TOTAL: &str = "servicekit_client_breaker_transitions_total";
/// Counter of attempts rejected by the bulkhead, by `client`.
pub const BULKHEAD_REJECTIONS_TOTAL: &str = "servicekit_client_bulkhead_rejections_total";
/// Counter of instance ejections by passive outlier detection, by `client`.
pub const EJECTIONS_TOTAL: &str = "servicekit_client_ejections_total";

/// HELP text of every family above, for the Prometheus exposition.
pub(crate) fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "Calls to downstream services (retries included), by client, method and outcome."
    );
    metrics::describe_counter!(
        ERRORS_TOTAL,
        "Failed calls to downstream services, by client and outcome."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Duration of calls to downstream services, retries and backoff included, by client and method."
    );
    metrics::describe_counter!(
        RETRIES_TOTAL,
        "Retries of calls to downstream services, by client and reason."
    );
    metrics::describe_counter!(
        RETRY_BUDGET_EXHAUSTED_TOTAL,
        "Retries skipped because the client's retry budget was spent, by client."
    );
    metrics::describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state by client: 0 closed, 1 half-open, 2 open."
    );
    metrics::describe_counter!(
        BREAKER_TRANSITIONS_TOTAL,
        "Circuit breaker state changes, by client and the new state."
    );
    metrics::describe_counter!(
        BULKHEAD_REJECTIONS_TOTAL,
        "Attempts refused because the client's bulkhead was full, by client."
    );
    metrics::describe_counter!(
        EJECTIONS_TOTAL,
        "Downstream instances ejected by passive outlier detection, by client."
    );
}

pub(crate) fn call(client: &str, method: &str, outcome: &'static str, elapsed: Duration) {
    let labels = [
        ("client", client.to_string()),
        ("method", method.to_string()),
        ("outcome", outcome.to_string()),
    ];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    if outcome != "ok" {
        metrics::counter!(ERRORS_TOTAL, "client" => client.to_string(), "outcome" => outcome)
            .increment(1);
    }
    metrics::histogram!(
        REQUEST_DURATION_SECONDS,
        "client" => client.to_string(),
        "method" => method.to_string()
    )
    .record(elapsed.as_secs_f64());
}

pub(crate) fn retry(client: &str, reason: &'static str) {
    metrics::counter!(RETRIES_TOTAL, "client" => client.to_string(), "reason" => reason)
        .increment(1);
}

pub(crate) fn budget_exhausted(client: &str) {
    metrics::counter!(RETRY_BUDGET_EXHAUSTED_TOTAL, "client" => client.to_string()).increment(1);
}

/// Sets the breaker state gauge (also at creation, so that the series exists before any
/// transition).
pub(crate) fn breaker_gauge(client: &str, value: f64) {
    metrics::gauge!(BREAKER_STATE, "client" => client.to_string()).set(value);
}

pub(crate) fn breaker_state(client: &str, state: &'static str, value: f64) {
    breaker_gauge(client, value);
    metrics::counter!(
        BREAKER_TRANSITIONS_TOTAL,
        "client" => client.to_string(),
        "state" => state
    )
    .increment(1);
}

pub(crate) fn bulkhead_rejected(client: &str) {
    metrics::counter!(BULKHEAD_REJECTIONS_TOTAL, "client" => client.to_string()).increment(1);
}

pub(crate) fn ejected(client: &str) {
    metrics::counter!(EJECTIONS_TOTAL, "client" => client.to_string()).increment(1);
}
