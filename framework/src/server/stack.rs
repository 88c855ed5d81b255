//! The standard middleware stack, outermost first:
//! sensitive headers -> request id -> trace span (W3C context extracted) -> RED metrics ->
//! problem+json -> panic catcher -> request head limits -> deadline (`server.request_timeout` and
//! trusted callers' `x-request-deadline-ms`) -> inbound context -> body limit -> routes.
//!
//! The order matters: the request id is set before the span so every log line carries it;
//! metrics and the problem layer sit inside the span so the logged and counted status is the
//! final one, and outside the panic catcher, deadline and body limit so their answers become
//! problem+json and are counted too. One [`RequestDeadlineLayer`](super::RequestDeadlineLayer) enforces both
//! limits, so a handler runs for at most the smaller of `server.request_timeout` and a trusted
//! caller's budget, and a client that is too slow sending its body gets 408. The inbound
//! context ([`SetInboundLayer`](super::SetInboundLayer)) sits inside the deadline layer so that
//! outgoing calls made by the handler carry the request id and that deadline without per-call
//! code. The stack is
//! applied with `Router::layer`, so it runs after routing and sees the matched route template.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, Request, header};
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::ServerConfig;
use super::catch_panic::CatchPanicLayer;
use super::request_id::MakeRandomRequestId;
use super::{HttpMetricsLayer, ProblemJsonLayer, RequestDeadlineLayer, SetInboundLayer};
use crate::telemetry;

/// Header carrying the request id, set when the client sent none and echoed on the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Wraps `router` in the standard stack configured by `config`.
///
/// Usable on any axum router, with or without the rest of servicekit:
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::server::ServerConfig;
///
/// let app = servicekit::server::standard_stack(
///     Router::new().route("/", get(|| async { "hi" })),
///     &ServerConfig::default(),
/// );
/// # let _: Router = app;
/// ```
pub fn standard_stack(router: Router, config: &ServerConfig) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                ]))
                .layer(SetRequestIdLayer::new(
                    request_id.clone(),
                    MakeRandomRequestId,
                ))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(make_span)
                        .on_request(())
                        .on_response(on_response)
                        // Server errors are logged by `on_response`, which knows probes from requests.
                        .on_failure(()),
                )
                .layer(HttpMetricsLayer::new())
                .layer(ProblemJsonLayer::new())
                .layer(CatchPanicLayer)
                .layer(super::request_head::CheckHeadLayer)
                .layer(RequestDeadlineLayer::from_config(config))
                .layer(SetInboundLayer::new())
                .layer(RequestBodyLimitLayer::new(config.body_limit))
                .layer(DefaultBodyLimit::disable()),
        )
        // Turns every handler into its finished, layered service now. A `Router<()>` called as it is
        // (servicekit's server does not go through `into_make_service`, which does this) otherwise
        // builds each handler's route and runs every `Layer::layer` of the stack again per request,
        // and layers that keep state across requests (the RED metrics' handles) would lose it.
        .with_state(())
}

fn make_span(req: &Request<Body>) -> Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let method = req.method().as_str();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    // Field values are only evaluated when the span is enabled; the name, built below, is
    // not needed at all when it is disabled (log level `warn` without an exporter).
    let span = tracing::info_span!(
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        http.route = route,
        url.path = req.uri().path(),
        http.response.status_code = tracing::field::Empty,
        request_id = request_id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // Span name per the OpenTelemetry HTTP conventions: `{method} {route}`, or `{method}` alone
    // when no route matched (the raw path would make names unbounded).
    match route {
        Some(route) => span.record("otel.name", format_args!("{method} {route}")),
        None => span.record("otel.name", method),
    };
    telemetry::extract_parent(&span, req.headers());
    telemetry::record_request_span(&span);
    span
}

/// Marks a response whose request is not worth an INFO line (probes, scrapes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quiet;

fn on_response(res: &Response, latency: Duration, span: &Span) {
    let status = res.status().as_u16();
    span.record("http.response.status_code", i64::from(status));
    if res.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    let latency_ms = latency.as_secs_f64() * 1e3;
    if res.extensions().get::<Quiet>().is_some() {
        tracing::debug!(
            http.response.status_code = status,
            latency_ms,
            "request finished"
        );
    } else if res.status().is_server_error() {
        tracing::warn!(
            http.response.status_code = status,
            latency_ms,
            "request failed"
        );
    } else {
        tracing::info!(
            http.response.status_code = status,
            latency_ms,
            "request finished"
        );
    }
}
