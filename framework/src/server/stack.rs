//! The standard middleware stack, outermost first:
//! sensitive headers -> request id -> trace span (W3C context extracted) -> RED metrics ->
//! problem+json -> panic catcher -> request head limits -> deadline (`server.request_timeout` and
//! trusted callers' `x-request-deadline-ms`) -> inbound context -> body limit -> routes.
//!
//! The request id, trace span and RED metrics are one layer ([`request_telemetry`](super::request_telemetry)),
//! each concern's code in its own module. The order matters: the request id is set before the
//! span so every log line carries it;
//! metrics and the problem layer sit inside the span so the logged and counted status is the
//! final one, and outside the panic catcher, deadline and body limit so their answers become
//! problem+json and are counted too. One [`RequestDeadlineLayer`](super::RequestDeadlineLayer) enforces both
//! limits, so a handler runs for at most the smaller of `server.request_timeout` and a trusted
//! caller's budget, and a client that is too slow sending its body gets 408. The inbound
//! context ([`SetInboundLayer`](super::SetInboundLayer)) sits inside the deadline layer so that
//! outgoing calls made by the handler carry the request id and that deadline without per-call
//! code. The stack is
//! applied with `Router::layer`, so it runs after routing and sees the matched route template.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, header};
use tower::ServiceBuilder;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use super::ServerConfig;
use super::body_limit::BodyLimitLayer;
use super::catch_panic::CatchPanicLayer;
use super::request_telemetry::RequestTelemetryLayer;
use super::{ProblemJsonLayer, RequestDeadlineLayer, SetInboundLayer};

/// Header carrying the request id, set when the client sent none and echoed on the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] as a parsed name: a look-up by `&str` parses and validates the name
/// each time (about 380 instructions per look-up in the hot-path profile), one by `HeaderName` only hashes it.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

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
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                ]))
                // Request id, span, the request's log line and RED metrics, fused into one
                // layer (one future, no body wrapper when the span is disabled).
                .layer(RequestTelemetryLayer)
                .layer(ProblemJsonLayer::new())
                .layer(CatchPanicLayer)
                .layer(super::request_head::CheckHeadLayer)
                .layer(RequestDeadlineLayer::from_config(config))
                .layer(SetInboundLayer::behind_deadline())
                .layer(BodyLimitLayer::new(config.body_limit))
                .layer(DefaultBodyLimit::disable()),
        )
        // Turns every handler into its finished, layered service now. A `Router<()>` called as it is
        // (servicekit's server does not go through `into_make_service`, which does this) otherwise
        // builds each handler's route and runs every `Layer::layer` of the stack again per request,
        // and layers that keep state across requests (the RED metrics' handles) would lose it.
        .with_state(())
}
