use tower::Layer;

use super::DeadlineService;

/// Layer that honours the caller's [`DEADLINE_HEADER`](super::DEADLINE_HEADER).
///
/// With a budget of `0` it answers 504 problem+json without running the handler (the caller
/// has given up); otherwise it runs the handler under a timeout of that budget (504 when it
/// elapses) and puts the [`Deadline`](super::Deadline) into the request's extensions for
/// outgoing calls. Requests without the header pass through.
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::server::DeadlineLayer;
///
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(DeadlineLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer {
    _priv: (),
}

impl DeadlineLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService::new(inner)
    }
}
