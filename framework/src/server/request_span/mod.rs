//! The request span and the access log line: what the standard stack records about each request
//! in traces and logs.
//!
//! [`make`] opens the span (named and linked to the caller's trace only when it is enabled),
//! [`finish`] records the status and writes the one line per request; a response of a request
//! whose span is enabled carries the span in its body until it is sent ([`body`]).

mod body;

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::response::Response;
use tracing::Span;

use crate::telemetry;

/// The target of the span and of the request's line, as documented (docs/observability.md)
/// since they were made in `stack.rs`: log filters name it.
const TARGET: &str = "servicekit::server::stack";

/// Marks a response whose request is not worth an INFO line (probes, scrapes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quiet;

/// The span of `req`, with the OpenTelemetry HTTP server fields. `request_id` is the one
/// [`take_or_make`](super::request_id::take_or_make) settled on and `route` the matched route
/// template, both already read by the caller: a second header look-up cost about 190
/// instructions per request even when the span was disabled.
pub(crate) fn make(req: &Request<Body>, request_id: &HeaderValue, route: Option<&str>) -> Span {
    let method = req.method().as_str();
    // Field values are only evaluated when the span is enabled; the name, built below, is
    // not needed at all when it is disabled (log level `warn` without an exporter).
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        http.route = route,
        url.path = req.uri().path(),
        http.response.status_code = tracing::field::Empty,
        request_id = request_id.to_str().unwrap_or_default(),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    telemetry::extract_parent(&span, req.headers());
    // Span name per the OpenTelemetry HTTP conventions: `{method} {route}`, or `{method}` alone
    // when no route matched (the raw path would make names unbounded).
    match route {
        Some(route) => telemetry::record_request_span(&span, &format_args!("{method} {route}")),
        None => telemetry::record_request_span(&span, &method),
    }
    span
}

/// Records the response's status in `span` and logs the request's line: DEBUG for quiet
/// requests, WARN for server errors, INFO otherwise. Called inside the span.
pub(crate) fn finish(res: &Response, latency: Duration, span: &Span) {
    let status = res.status().as_u16();
    span.record("http.response.status_code", i64::from(status));
    if res.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    let latency_ms = latency.as_secs_f64() * 1e3;
    if res.extensions().get::<Quiet>().is_some() {
        tracing::event!(
            target: TARGET,
            tracing::Level::DEBUG,
            { http.response.status_code = status, latency_ms },
            "request finished"
        );
    } else if res.status().is_server_error() {
        tracing::event!(
            target: TARGET,
            tracing::Level::WARN,
            { http.response.status_code = status, latency_ms },
            "request failed"
        );
    } else {
        tracing::event!(
            target: TARGET,
            tracing::Level::INFO,
            { http.response.status_code = status, latency_ms },
            "request finished"
        );
    }
}

/// The response's body, carrying `span` until it is sent when the span is enabled; as it is
/// otherwise.
pub(crate) fn attach(res: Response, span: Span) -> Response {
    if span.is_disabled() {
        return res;
    }
    res.map(|b| body::with_span(b, span))
}
