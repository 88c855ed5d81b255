use tower::Layer;

use super::HttpMetrics;

/// Layer recording RED metrics for every request; see the [module docs](super).
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::server::HttpMetricsLayer;
///
/// let app: Router = Router::new()
///     .route("/students/{id}", get(|| async { "x" }))
///     .layer(HttpMetricsLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpMetricsLayer {
    _priv: (),
}

impl HttpMetricsLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics::new(inner)
    }
}
