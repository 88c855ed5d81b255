use std::sync::Arc;

use tower::Layer;

use super::RequirePeer;

/// Layer that lets a request through only from an allowed peer; see [`require_peer`].
#[derive(Debug, Clone)]
pub struct RequirePeerLayer {
    allowed: Arc<[String]>,
}

impl RequirePeerLayer {
    /// A layer allowing the peers named (URI or DNS subject alternative name) in `allowed`.
    pub fn new(allowed: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            allowed: allowed.into_iter().map(Into::into).collect(),
        }
    }

    /// The allowed names.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }
}

impl<S> Layer<S> for RequirePeerLayer {
    type Service = RequirePeer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePeer::new(inner, self.allowed.clone())
    }
}

/// Requires a mutual-TLS client certificate naming one of `allowed` (a SAN URI such as
/// `spiffe://school/subject-service`, or a DNS name); answers 403 problem+json otherwise.
pub fn require_peer(allowed: impl IntoIterator<Item = impl Into<String>>) -> RequirePeerLayer {
    RequirePeerLayer::new(allowed)
}
