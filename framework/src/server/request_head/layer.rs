use tower::Layer;

use super::service::CheckHead;

/// Layer answering requests whose head breaks the limits of the [module docs](super) with
/// problem+json, before they reach the inner service.
///
/// A tower layer rather than `axum::middleware::from_fn`: `from_fn` clones the inner stack and
/// boxes two futures per request, this layer's future is the inner one or a ready answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CheckHeadLayer;

impl<S> Layer<S> for CheckHeadLayer {
    type Service = CheckHead<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CheckHead { inner }
    }
}
