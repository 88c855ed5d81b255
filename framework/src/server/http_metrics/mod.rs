//! HTTP server RED metrics by method, route template and status class.
//!
//! - `http_server_requests_total{method, route, status}` counter;
//! - `http_server_request_duration_seconds{method, route, status}` histogram;
//! - `http_server_active_requests{method, route}` gauge.
//!
//! `route` is the matched route template (`/students/{id}`), never the raw path, so label
//! cardinality stays bounded; requests that match no route are labelled `unmatched`. `status` is
//! the class (`2xx`, `4xx`, ...). Metrics go through the `metrics` facade; servicekit installs the
//! Prometheus recorder that serves them on `/metrics`.

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::HttpMetricsLayer;
pub use service::HttpMetrics;

/// Name of the request counter.
pub const REQUESTS_TOTAL: &str = "http_server_requests_total";
/// Name of the request duration histogram (seconds).
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Name of the in-flight requests gauge.
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";
