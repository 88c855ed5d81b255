//! What every call records, buffered or streamed: its client span and its call metric.

use std::time::Instant;

use http::{Method, StatusCode};
use tracing::Span;

use super::{ClientError, metrics};

/// One client span per call, named `{METHOD} {client}` (the path may hold ids); its context is
/// what `traceparent` carries to the downstream.
pub(crate) fn span(client: &str, method: &Method, path: &str) -> Span {
    tracing::info_span!(
        "client request",
        otel.name = %format!("{} {}", method, client),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        server.service = %client,
        url.path = %path,
        http.response.status_code = tracing::field::Empty,
    )
}

/// Records the call's outcome on its span and in the call metric.
pub(crate) fn finish(
    span: &Span,
    client: &str,
    method: &Method,
    started: Instant,
    outcome: Result<StatusCode, &ClientError>,
) {
    let label = match outcome {
        Ok(status) => {
            span.record("http.response.status_code", i64::from(status.as_u16()));
            if status.is_server_error() {
                span.record("otel.status_code", "error");
                "http_5xx"
            } else {
                "ok"
            }
        }
        Err(e) => {
            span.record("otel.status_code", "error");
            e.outcome()
        }
    };
    metrics::call(client, method.as_str(), label, started.elapsed());
}
