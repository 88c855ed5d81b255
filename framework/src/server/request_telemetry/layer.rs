use std::sync::Arc;

use tower::Layer;

use super::service::RequestTelemetry;

/// Layer recording each request's id, span, log line and RED metrics; see the [module
/// docs](super).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestTelemetryLayer;

impl<S> Layer<S> for RequestTelemetryLayer {
    type Service = RequestTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTelemetry {
            inner,
            routes: Arc::default(),
        }
    }
}
