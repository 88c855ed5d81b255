use tower::Layer;

use super::InboundService;

/// Layer that makes the request's [`Inbound`](super::Inbound) context available to outgoing
/// calls made while handling it (see [`Inbound::current`](super::Inbound::current)).
///
/// Part of [`standard_stack`](crate::server::standard_stack); on a router of your own, add it
/// inside [`DeadlineLayer`](crate::server::DeadlineLayer) so that the caller's deadline is
/// carried too:
///
/// ```
/// use std::time::Duration;
///
/// use axum::{Router, routing::get};
/// use servicekit::server::{DeadlineLayer, InboundLayer};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(InboundLayer::new())
///     .layer(DeadlineLayer::new(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct InboundLayer {
    _priv: (),
}

impl InboundLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for InboundLayer {
    type Service = InboundService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InboundService::new(inner)
    }
}
