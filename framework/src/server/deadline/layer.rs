use tower::Layer;

use super::DeadlineService;

/// Layer that honours the caller's [`DEADLINE_HEADER`](super::DEADLINE_HEADER); see the
/// [module docs](super).
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
