use tower::Layer;

use super::ProblemJson;

/// Layer that rewrites plain-text and empty error responses as problem+json.
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::server::ProblemJsonLayer;
///
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(ProblemJsonLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJsonLayer {
    _priv: (),
}

impl ProblemJsonLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ProblemJsonLayer {
    type Service = ProblemJson<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProblemJson::new(inner)
    }
}
