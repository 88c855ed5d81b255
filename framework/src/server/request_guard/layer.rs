use std::sync::Arc;

use tower::Layer;

use super::service::RequestGuard;
use crate::server::deadline::Policy;
use crate::server::{RequestDeadlineLayer, ServerConfig};

/// Layer of the standard stack's inner half; see the [module docs](super).
#[derive(Debug, Clone)]
pub(crate) struct RequestGuardLayer {
    policy: Arc<Policy>,
    body_limit: usize,
}

impl RequestGuardLayer {
    /// The guard `[server]` configures: the deadline as
    /// [`RequestDeadlineLayer::from_config`] and `body_limit`.
    pub(crate) fn from_config(config: &ServerConfig) -> Self {
        Self {
            policy: RequestDeadlineLayer::from_config(config).policy().clone(),
            body_limit: config.body_limit,
        }
    }
}

impl<S> Layer<S> for RequestGuardLayer {
    type Service = RequestGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestGuard {
            inner,
            policy: self.policy.clone(),
            body_limit: self.body_limit,
        }
    }
}
