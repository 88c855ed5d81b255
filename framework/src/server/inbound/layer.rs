use tower::Layer;

use super::SetInbound;

/// Layer that makes the request's [`Inbound`](super::Inbound) context available to outgoing
/// calls made while handling it (see [`Inbound::current`](super::Inbound::current)).
///
/// Part of [`standard_stack`](crate::server::standard_stack); on a router of your own, add it
/// inside [`RequestDeadlineLayer`](crate::server::RequestDeadlineLayer) so that the caller's deadline is
/// carried too:
///
/// ```
/// use std::time::Duration;
///
/// use axum::{Router, routing::get};
/// use servicekit::server::{RequestDeadlineLayer, SetInboundLayer};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(SetInboundLayer::new())
///     .layer(RequestDeadlineLayer::new(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SetInboundLayer;

impl SetInboundLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for SetInboundLayer {
    type Service = SetInbound<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetInbound::new(inner)
    }
}
