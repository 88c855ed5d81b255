//! The standard middleware stack, outermost first:
//! sensitive headers -> request id -> trace span (W3C context extracted) -> RED metrics ->
//! problem+json -> panic catcher -> request head limits -> deadline (`server.request_timeout` and
//! trusted callers' `x-request-deadline-ms`) -> inbound context -> body limit -> routes.
//!
//! The sensitive headers, request id, trace span and RED metrics are one layer
//! ([`request_telemetry`](super::request_telemetry)); problem+json, the panic catcher, the head
//! limits, the deadline, the inbound context and the body limit another
//! ([`request_guard`](super::request_guard)); each concern's code is in its own module. The
//! order matters: the request id is set before the span so every log line carries it; metrics
//! and the problem mapping sit inside the span so the logged and counted status is the final
//! one, and outside the panic catcher, deadline and body limit so their answers become
//! problem+json and are counted too. One deadline (as [`RequestDeadlineLayer`](super::RequestDeadlineLayer)
//! enforces it) bounds both limits, so a handler runs for at most the smaller of
//! `server.request_timeout` and a trusted caller's budget, and a client that is too slow sending
//! its body gets 408. The inbound context (as [`SetInboundLayer`](super::SetInboundLayer) sets
//! it) comes after the deadline so that outgoing calls made by the handler carry the request id
//! and that deadline without per-call code. The stack is applied with `Router::layer`, so it
//! runs after routing and sees the matched route template.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use tower::ServiceBuilder;

use super::ServerConfig;
use super::request_guard::RequestGuardLayer;
use super::request_telemetry::RequestTelemetryLayer;

/// Header carrying the request id, set when the client sent none and echoed on the response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] as a parsed name: a look-up by `&str` parses and validates the name
/// each time (about 380 instructions per look-up in the hot-path profile), one by `HeaderName` only hashes it.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// The limit axum's body extractors apply unless told otherwise (`axum_core`'s `DEFAULT_LIMIT`).
const AXUM_DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Whether axum's own body limit would refuse bodies that `server.body_limit` allows, so that it
/// must be disabled. Disabling it costs an extension per request (a map insert, about 250
/// instructions); below it (the default 1 MiB), `server.body_limit` always answers first.
fn axum_limit_in_the_way(config: &ServerConfig) -> bool {
    config.body_limit > AXUM_DEFAULT_BODY_LIMIT
}

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
                // Credential headers marked sensitive, request id, span, the request's log line
                // and RED metrics, fused into one layer (one future, no body wrapper when the
                // span is disabled).
                .layer(RequestTelemetryLayer)
                // Problem+json, panics, head limits, deadline, inbound context and body limit,
                // fused into one layer in that order (one future, one task-local scope).
                .layer(RequestGuardLayer::from_config(config))
                .option_layer(axum_limit_in_the_way(config).then(DefaultBodyLimit::disable)),
        )
        // Turns every handler into its finished, layered service now. A `Router<()>` called as it is
        // (servicekit's server does not go through `into_make_service`, which does this) otherwise
        // builds each handler's route and runs every `Layer::layer` of the stack again per request,
        // and layers that keep state across requests (the RED metrics' handles) would lose it.
        .with_state(())
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, Bytes};
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    async fn post_bytes(config: &ServerConfig, len: usize) -> StatusCode {
        let app = standard_stack(
            Router::new().route(
                "/",
                post(|body: Bytes| async move { body.len().to_string() }),
            ),
            config,
        );
        let req = Request::post("/")
            .body(Body::from(vec![b'x'; len]))
            .unwrap();
        app.oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn the_body_limit_holds_on_either_side_of_axums_own() {
        let default = ServerConfig::default();
        assert!(!axum_limit_in_the_way(&default));
        assert_eq!(
            post_bytes(&default, default.body_limit).await,
            StatusCode::OK
        );
        assert_eq!(
            post_bytes(&default, default.body_limit + 1).await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let large = ServerConfig {
            body_limit: 3 * 1024 * 1024,
            ..ServerConfig::default()
        };
        assert!(axum_limit_in_the_way(&large));
        let over_axums = AXUM_DEFAULT_BODY_LIMIT + 1;
        assert_eq!(post_bytes(&large, over_axums).await, StatusCode::OK);
    }
}
