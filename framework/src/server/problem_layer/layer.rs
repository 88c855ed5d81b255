use tower::Layer;

use super::ProblemService;

/// Layer that rewrites plain-text and empty error responses as problem+json.
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::server::ProblemLayer;
///
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(ProblemLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemLayer {
    _priv: (),
}

impl ProblemLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ProblemLayer {
    type Service = ProblemService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProblemService::new(inner)
    }
}
