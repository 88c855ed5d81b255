use tower::Layer;

use super::service::CatchPanic;

/// Layer answering a panic in the inner service with a logged 500 problem+json; see the
/// [module docs](super).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}
