//! Every metric servicekit emits, in one table: name, kind, unit, HELP text and label names.
//!
//! The emission sites (the HTTP metrics layer, the rate limit, the client, the secrets store,
//! the token cache, the pool gauges, build info) name their metrics only through the constants
//! below, and `describe()` gives the Prometheus exposition its `# HELP` line for each of them
//! when the recorder is installed. docs/observability.md lists the same table; a test keeps the
//! two in step. Process metrics (`process_*`) come from `metrics-process`, which describes its
//! own.

use metrics::{KeyName, SharedString, Unit};

use MetricKind::{Counter, Gauge, Histogram};

/// Histogram buckets for every `*_seconds` metric: 1 ms to 10 s, dense where HTTP latencies are.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counter of HTTP requests served, by `method`, `route` (template) and `status` (class).
pub const HTTP_SERVER_REQUESTS_TOTAL: &str = "http_server_requests_total";
/// Histogram of HTTP request duration in seconds (until the response head), by `method`,
/// `route` and `status`.
pub const HTTP_SERVER_REQUEST_DURATION_SECONDS: &str = "http_server_request_duration_seconds";
/// Gauge of HTTP requests in flight, by `method` and `route`.
pub const HTTP_SERVER_ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Counter of requests answered 429 by the rate limit, by `method` and `route` (the route
/// template, or `unmatched`).
pub const HTTP_SERVER_RATE_LIMITED_TOTAL: &str = "http_server_rate_limited_total";
/// Counter of requests that found the rate limit's Redis store failing or slower than
/// `rate_limit.store_timeout`, by `policy` (`fail_open`: let through, `fail_closed`: 503).
pub const RATE_LIMIT_STORE_ERRORS_TOTAL: &str = "servicekit_rate_limit_store_errors_total";
/// Gauge, always 1, by `service`, `version` and `git_sha`.
pub const BUILD_INFO: &str = "servicekit_build_info";
/// Gauge of database pool connections, by `service` and `state` (`idle`, `in_use`), sampled at
/// scrape time.
pub const DB_POOL_CONNECTIONS: &str = "servicekit_db_pool_connections";
/// Gauge of the largest size of the database pool, by `service`.
pub const DB_POOL_MAX_CONNECTIONS: &str = "servicekit_db_pool_max_connections";
/// Counter of `PoolTimedOut` errors turned into a 503 problem.
pub const DB_POOL_ACQUIRE_TIMEOUTS_TOTAL: &str = "servicekit_db_pool_acquire_timeouts_total";
/// Counter of requests whose bearer token was found in the verified-token cache.
pub const AUTH_TOKEN_CACHE_HITS_TOTAL: &str = "servicekit_auth_token_cache_hits_total";
/// Counter of requests whose bearer token had to be verified.
pub const AUTH_TOKEN_CACHE_MISSES_TOTAL: &str = "servicekit_auth_token_cache_misses_total";
/// Gauge of the age of each secret's value (seconds since its last successful fetch), by
/// `reference`, as of the scrape.
pub const SECRET_AGE_SECONDS: &str = "servicekit_secret_age_seconds";
/// Counter of failed background refreshes of a secret, by `reference`.
pub const SECRET_REFRESH_FAILURES_TOTAL: &str = "servicekit_secret_refresh_failures_total";
/// Counter of client calls, by `client`, `method` and `outcome` (`ok`, `http_5xx`, `timeout`,
/// `deadline`, `circuit_open`, `bulkhead_full`, `connect`, `transport`, ...). A call is one
/// `send()`, retries included; errors are the outcomes other than `ok`.
pub const CLIENT_REQUESTS_TOTAL: &str = "servicekit_client_requests_total";
/// Counter of failed client calls, by `client` and `outcome` (the same outcomes, without `ok`).
pub const CLIENT_ERRORS_TOTAL: &str = "servicekit_client_errors_total";
/// Histogram of client call latency in seconds, retries included, by `client` and `method`.
pub const CLIENT_REQUEST_DURATION_SECONDS: &str = "servicekit_client_request_duration_seconds";
/// Counter of client retries, by `client` and `reason`.
pub const CLIENT_RETRIES_TOTAL: &str = "servicekit_client_retries_total";
/// Counter of retries skipped because the retry budget was spent, by `client`.
pub const CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL: &str =
    "servicekit_client_retry_budget_exhausted_total";
/// Gauge of the breaker state, by `client`: 0 closed, 1 half-open, 2 open.
pub const CLIENT_BREAKER_STATE: &str = "servicekit_client_breaker_state";
/// Counter of breaker transitions, by `client` and the new `state`.
pub const CLIENT_BREAKER_TRANSITIONS_TOTAL: &str = "servicekit_client_breaker_transitions_total";
/// Counter of attempts rejected by the client's bulkhead, by `client`.
pub const CLIENT_BULKHEAD_REJECTIONS_TOTAL: &str = "servicekit_client_bulkhead_rejections_total";
/// Counter of instance ejections by passive outlier detection, by `client`.
pub const CLIENT_EJECTIONS_TOTAL: &str = "servicekit_client_ejections_total";
/// Counter of TLS handshakes of the main listener that failed, by `reason` (`refused`: an
/// error such as a missing or untrusted client certificate; `timeout`).
pub const TLS_HANDSHAKE_FAILURES_TOTAL: &str = "servicekit_tls_handshake_failures_total";
/// Counter of attempts to load changed certificate files, by `outcome` (`ok`, `failed`).
pub const TLS_CERTIFICATE_RELOADS_TOTAL: &str = "servicekit_tls_certificate_reloads_total";

/// Counter of cache lookups, by `result`: `hit`, `miss` (absent, or a value that no longer
/// deserialises) or `error` (Redis failed, timed out or was skipped by the breaker).
pub const CACHE_REQUESTS_TOTAL: &str = "servicekit_cache_requests_total";
/// Counter of failed cache commands, by `operation` (`get`, `set`, `delete`) and `reason`
/// (`error`, `timeout`, `open`: skipped while the breaker is open).
pub const CACHE_ERRORS_TOTAL: &str = "servicekit_cache_errors_total";
/// Histogram of Redis command duration in seconds, by `operation`, failures included.
pub const CACHE_OPERATION_DURATION_SECONDS: &str = "servicekit_cache_operation_duration_seconds";
/// Counter of `get_or_load` calls that went to the loader without the cache because Redis
/// failed, timed out or was skipped, by `reason` (`error`, `timeout`, `open`).
pub const CACHE_BYPASS_TOTAL: &str = "servicekit_cache_bypass_total";
/// Counter of loads run by `get_or_load` (one per single-flight group), by `outcome`
/// (`value`, `absent`, `failed`).
pub const CACHE_LOADS_TOTAL: &str = "servicekit_cache_loads_total";

/// Counter of events published from the outbox and confirmed by the broker, by `broker` and
/// `type`.
pub const EVENTS_PUBLISHED_TOTAL: &str = "servicekit_events_published_total";
/// Counter of relay rounds stopped by a failed publish, by `broker`.
pub const EVENTS_PUBLISH_FAILURES_TOTAL: &str = "servicekit_events_publish_failures_total";
/// Gauge of events waiting in the outbox.
pub const EVENTS_OUTBOX_DEPTH: &str = "servicekit_events_outbox_depth";
/// Gauge of the age in seconds of the oldest event waiting in the outbox (0 when empty).
pub const EVENTS_OUTBOX_OLDEST_AGE_SECONDS: &str = "servicekit_events_outbox_oldest_age_seconds";
/// Counter of events handled and committed, by `consumer` and `type`.
pub const EVENTS_CONSUMED_TOTAL: &str = "servicekit_events_consumed_total";
/// Counter of failed handler runs, by `consumer` and `type`.
pub const EVENTS_HANDLER_FAILURES_TOTAL: &str = "servicekit_events_handler_failures_total";
/// Counter of deliveries after the first, by `consumer` and `type`.
pub const EVENTS_REDELIVERIES_TOTAL: &str = "servicekit_events_redeliveries_total";
/// Counter of events moved to the dead-letter destination, by `consumer` and `type`.
pub const EVENTS_DEAD_LETTERED_TOTAL: &str = "servicekit_events_dead_lettered_total";
/// Gauge of messages the broker holds for a consumer and has not delivered, by `consumer` and
/// `broker` (where the broker reports it).
pub const EVENTS_CONSUMER_LAG: &str = "servicekit_events_consumer_lag";

/// The three kinds of metric of the `metrics` facade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (`metrics::counter!`); Prometheus type `counter`.
    Counter,
    /// Set to a value (`metrics::gauge!`); Prometheus type `gauge`.
    Gauge,
    /// Records observations in buckets (`metrics::histogram!`); Prometheus type `histogram`.
    Histogram,
}

impl MetricKind {
    /// The Prometheus `# TYPE` of the kind: `counter`, `gauge` or `histogram`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// One metric servicekit emits.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The metric's name, as exposed (one of the constants of this module).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The unit given to the recorder, if any.
    pub unit: Option<Unit>,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The label names every series of the metric carries.
    pub labels: &'static [&'static str],
}

const fn def(
    name: &'static str,
    kind: MetricKind,
    unit: Option<Unit>,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        unit,
        help,
        labels,
    }
}

/// Every metric servicekit emits.
pub const METRICS: &[MetricDef] = &[
    def(
        HTTP_SERVER_REQUESTS_TOTAL,
        Counter,
        None,
        &["method", "route", "status"],
        "HTTP requests served, by method, route template and status class.",
    ),
    def(
        HTTP_SERVER_REQUEST_DURATION_SECONDS,
        Histogram,
        Some(Unit::Seconds),
        &["method", "route", "status"],
        "HTTP request duration, by method, route template and status class.",
    ),
    def(
        HTTP_SERVER_ACTIVE_REQUESTS,
        Gauge,
        None,
        &["method", "route"],
        "HTTP requests in flight.",
    ),
    def(
        HTTP_SERVER_RATE_LIMITED_TOTAL,
        Counter,
        None,
        &["method", "route"],
        "HTTP requests refused with 429 by the rate limit, by method and route template.",
    ),
    def(
        RATE_LIMIT_STORE_ERRORS_TOTAL,
        Counter,
        None,
        &["policy"],
        "Requests whose rate-limit store (Redis) failed or timed out, by policy (fail_open lets them through, fail_closed answers 503).",
    ),
    def(
        BUILD_INFO,
        Gauge,
        None,
        &["service", "version", "git_sha"],
        "Build information of the service: always 1.",
    ),
    def(
        DB_POOL_CONNECTIONS,
        Gauge,
        None,
        &["service", "state"],
        "Database pool connections by state (idle, in_use).",
    ),
    def(
        DB_POOL_MAX_CONNECTIONS,
        Gauge,
        None,
        &["service"],
        "Largest size of the database pool.",
    ),
    def(
        DB_POOL_ACQUIRE_TIMEOUTS_TOTAL,
        Counter,
        None,
        &[],
        "Requests that found no free database connection within database.acquire_timeout.",
    ),
    def(
        AUTH_TOKEN_CACHE_HITS_TOTAL,
        Counter,
        None,
        &[],
        "Requests whose bearer token was found in the verified-token cache.",
    ),
    def(
        AUTH_TOKEN_CACHE_MISSES_TOTAL,
        Counter,
        None,
        &[],
        "Requests whose bearer token had to be verified (not in the verified-token cache).",
    ),
    def(
        SECRET_AGE_SECONDS,
        Gauge,
        Some(Unit::Seconds),
        &["reference"],
        "Seconds since each secret's value was last fetched successfully, by reference.",
    ),
    def(
        SECRET_REFRESH_FAILURES_TOTAL,
        Counter,
        None,
        &["reference"],
        "Failed background refreshes of a secret, by reference (the last good value is kept).",
    ),
    def(
        CLIENT_REQUESTS_TOTAL,
        Counter,
        None,
        &["client", "method", "outcome"],
        "Calls to downstream services (retries included), by client, method and outcome.",
    ),
    def(
        CLIENT_ERRORS_TOTAL,
        Counter,
        None,
        &["client", "outcome"],
        "Failed calls to downstream services, by client and outcome.",
    ),
    def(
        CLIENT_REQUEST_DURATION_SECONDS,
        Histogram,
        Some(Unit::Seconds),
        &["client", "method"],
        "Duration of calls to downstream services, retries and backoff included, by client and method.",
    ),
    def(
        CLIENT_RETRIES_TOTAL,
        Counter,
        None,
        &["client", "reason"],
        "Retries of calls to downstream services, by client and reason.",
    ),
    def(
        CLIENT_RETRY_BUDGET_EXHAUSTED_TOTAL,
        Counter,
        None,
        &["client"],
        "Retries skipped because the client's retry budget was spent, by client.",
    ),
    def(
        CLIENT_BREAKER_STATE,
        Gauge,
        None,
        &["client"],
        "Circuit breaker state by client: 0 closed, 1 half-open, 2 open.",
    ),
    def(
        CLIENT_BREAKER_TRANSITIONS_TOTAL,
        Counter,
        None,
        &["client", "state"],
        "Circuit breaker state changes, by client and the new state.",
    ),
    def(
        CLIENT_BULKHEAD_REJECTIONS_TOTAL,
        Counter,
        None,
        &["client"],
        "Attempts refused because the client's bulkhead was full, by client.",
    ),
    def(
        CLIENT_EJECTIONS_TOTAL,
        Counter,
        None,
        &["client"],
        "Downstream instances ejected by passive outlier detection, by client.",
    ),
    def(
        TLS_HANDSHAKE_FAILURES_TOTAL,
        Counter,
        None,
        &["reason"],
        "TLS handshakes of the main listener that failed, by reason (refused, timeout).",
    ),
    def(
        TLS_CERTIFICATE_RELOADS_TOTAL,
        Counter,
        None,
        &["outcome"],
        "Loads of changed TLS certificate files, by outcome (ok, failed).",
    ),
    def(
        CACHE_REQUESTS_TOTAL,
        Counter,
        None,
        &["result"],
        "Cache lookups, by result (hit, miss, error).",
    ),
    def(
        CACHE_ERRORS_TOTAL,
        Counter,
        None,
        &["operation", "reason"],
        "Failed cache commands, by operation and reason (error, timeout, open).",
    ),
    def(
        CACHE_OPERATION_DURATION_SECONDS,
        Histogram,
        Some(Unit::Seconds),
        &["operation"],
        "Duration of Redis commands of the cache, by operation.",
    ),
    def(
        CACHE_BYPASS_TOTAL,
        Counter,
        None,
        &["reason"],
        "get_or_load calls served by the loader without the cache (Redis down or slow), by reason.",
    ),
    def(
        CACHE_LOADS_TOTAL,
        Counter,
        None,
        &["outcome"],
        "Loads run by get_or_load (one per single-flight group), by outcome (value, absent, failed).",
    ),
    def(
        EVENTS_PUBLISHED_TOTAL,
        Counter,
        None,
        &["broker", "type"],
        "Events published from the outbox and confirmed by the broker, by broker and type.",
    ),
    def(
        EVENTS_PUBLISH_FAILURES_TOTAL,
        Counter,
        None,
        &["broker"],
        "Outbox relay rounds stopped by a failed publish (the events wait), by broker.",
    ),
    def(
        EVENTS_OUTBOX_DEPTH,
        Gauge,
        None,
        &[],
        "Events waiting in the outbox.",
    ),
    def(
        EVENTS_OUTBOX_OLDEST_AGE_SECONDS,
        Gauge,
        Some(Unit::Seconds),
        &[],
        "Age of the oldest event waiting in the outbox (0 when empty).",
    ),
    def(
        EVENTS_CONSUMED_TOTAL,
        Counter,
        None,
        &["consumer", "type"],
        "Events handled and committed, by consumer and type.",
    ),
    def(
        EVENTS_HANDLER_FAILURES_TOTAL,
        Counter,
        None,
        &["consumer", "type"],
        "Failed event handler runs, by consumer and type.",
    ),
    def(
        EVENTS_REDELIVERIES_TOTAL,
        Counter,
        None,
        &["consumer", "type"],
        "Event deliveries after the first, by consumer and type.",
    ),
    def(
        EVENTS_DEAD_LETTERED_TOTAL,
        Counter,
        None,
        &["consumer", "type"],
        "Events moved to the dead-letter destination, by consumer and type.",
    ),
    def(
        EVENTS_CONSUMER_LAG,
        Gauge,
        None,
        &["consumer", "broker"],
        "Messages the broker holds for a consumer and has not delivered yet.",
    ),
];

/// Gives the installed recorder the unit and HELP text of every metric in [`METRICS`]
/// (`promtool check metrics` wants a HELP line per family, and the `metrics` facade only emits
/// one for described metrics).
pub(crate) fn describe() {
    metrics::with_recorder(|recorder| {
        for metric in METRICS {
            let name = KeyName::from_const_str(metric.name);
            let help = SharedString::const_str(metric.help);
            match metric.kind {
                Counter => recorder.describe_counter(name, metric.unit, help),
                Gauge => recorder.describe_gauge(name, metric.unit, help),
                Histogram => recorder.describe_histogram(name, metric.unit, help),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_are_unique_and_prometheus_shaped() {
        let mut seen = BTreeSet::new();
        for metric in METRICS {
            assert!(seen.insert(metric.name), "{} listed twice", metric.name);
            assert!(
                metric
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not snake_case",
                metric.name
            );
            assert_eq!(
                metric.kind == Counter,
                metric.name.ends_with("_total"),
                "{}: counters, and only counters, end in _total",
                metric.name
            );
            assert_eq!(
                metric.unit == Some(Unit::Seconds),
                metric.name.ends_with("_seconds"),
                "{}: the seconds unit goes with the _seconds suffix",
                metric.name
            );
            assert!(!metric.help.is_empty(), "{} has no HELP text", metric.name);
        }
    }

    /// The rows of the "What is exported" table of docs/observability.md: each name in the
    /// first cell with the second (the type) and the third (the labels).
    fn documented() -> Vec<(String, String, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/observability.md");
        let text = std::fs::read_to_string(path).unwrap();
        let section = text
            .split("\n## Metrics\n")
            .nth(1)
            .and_then(|metrics| metrics.split("\n### What is exported\n").nth(1))
            .expect("docs/observability.md has `## Metrics` with `### What is exported`");
        let mut rows = Vec::new();
        for line in section.lines().skip_while(|l| !l.starts_with('|')) {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (names, kind, labels) = (cells[1], cells[2], cells[3]);
            // Names are in backticks, which leaves out the header and separator rows.
            let quoted = names.split(',').filter_map(|name| {
                let name = name.trim().strip_prefix('`')?.strip_suffix('`')?;
                (!name.is_empty()).then_some(name)
            });
            for name in quoted {
                rows.push((name.to_string(), kind.to_string(), labels.to_string()));
            }
        }
        rows
    }

    #[test]
    fn the_observability_guide_lists_every_metric_with_its_type() {
        let rows = documented();
        for metric in METRICS {
            let row = rows.iter().find(|(name, ..)| name == metric.name);
            let Some((_, kind, labels)) = row else {
                panic!(
                    "{} is missing from the metrics table of docs/observability.md; add a row",
                    metric.name
                );
            };
            assert!(
                kind.starts_with(metric.kind.as_str()),
                "docs/observability.md gives {} the type `{kind}`, the catalog `{}`",
                metric.name,
                metric.kind.as_str()
            );
            for label in metric.labels {
                assert!(
                    labels.contains(&format!("`{label}`")),
                    "docs/observability.md does not give {} the label `{label}`",
                    metric.name
                );
            }
        }
        // Process metrics come from metrics-process; everything else listed must be ours.
        for (name, ..) in rows
            .iter()
            .filter(|(name, ..)| !name.starts_with("process_"))
        {
            assert!(
                METRICS.iter().any(|metric| metric.name == name),
                "docs/observability.md lists `{name}`, which servicekit does not emit; \
                 add it to telemetry/catalog.rs or remove the row"
            );
        }
    }
}
