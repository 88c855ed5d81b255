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
//!
//! The series' handles are resolved once per route template, method and status class and kept
//! by the service, so a request updates them without a registry look-up or label clones.

mod future;
mod handles;
mod layer;
mod service;

pub(crate) use future::InFlight;
pub use future::ResponseFuture;
pub(crate) use handles::{RouteTable, method_index};
pub use layer::HttpMetricsLayer;
pub use service::HttpMetrics;

/// Name of the request counter (an alias of
/// [`HTTP_SERVER_REQUESTS_TOTAL`](crate::telemetry::catalog::HTTP_SERVER_REQUESTS_TOTAL)).
pub const REQUESTS_TOTAL: &str = crate::telemetry::catalog::HTTP_SERVER_REQUESTS_TOTAL;
/// Name of the request duration histogram, in seconds (an alias of
/// [`HTTP_SERVER_REQUEST_DURATION_SECONDS`](crate::telemetry::catalog::HTTP_SERVER_REQUEST_DURATION_SECONDS)).
pub const REQUEST_DURATION: &str = crate::telemetry::catalog::HTTP_SERVER_REQUEST_DURATION_SECONDS;
/// Name of the in-flight requests gauge (an alias of
/// [`HTTP_SERVER_ACTIVE_REQUESTS`](crate::telemetry::catalog::HTTP_SERVER_ACTIVE_REQUESTS)).
pub const ACTIVE_REQUESTS: &str = crate::telemetry::catalog::HTTP_SERVER_ACTIVE_REQUESTS;
