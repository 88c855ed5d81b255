use std::sync::Arc;

use tower::Layer;

use super::key::KeyExtractor;
use super::limiter::Limiters;
use super::{RateLimit, RateLimitConfig};

/// Layer that throttles requests per client; see the [module docs](super).
///
/// Clones share their buckets, so build it once and apply it once. For keys `subject` and
/// `client_id` it must run inside the auth layer (apply it before `ctx.auth()`, since the layer
/// added last runs first):
///
/// ```
/// use axum::{Router, routing::get};
/// use servicekit::auth::AuthLayer;
/// use servicekit::server::{RateLimitConfig, RateLimitLayer};
///
/// let config: RateLimitConfig =
///     serde_json::from_value(serde_json::json!({"enabled": true, "key": "subject"})).unwrap();
/// let app: Router = Router::new()
///     .route("/students", get(|| async { "[]" }))
///     .layer(RateLimitLayer::new(&config))
///     .layer(AuthLayer::disabled());
/// ```
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    shared: Option<Arc<Shared>>,
}

/// What every clone of the layer and its services share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) limiters: Limiters,
    pub(super) keys: KeyExtractor,
}

impl RateLimitLayer {
    /// A layer as `config` says; a disabled configuration gives [`RateLimitLayer::disabled`].
    ///
    /// `config` should have passed validation (servicekit validates `[rate_limit]` at startup);
    /// invalid route overrides are skipped and an invalid default rate becomes one request per
    /// second.
    pub fn new(config: &RateLimitConfig) -> Self {
        if !config.enabled {
            return Self::disabled();
        }
        Self {
            shared: Some(Arc::new(Shared {
                limiters: Limiters::new(config),
                keys: KeyExtractor::new(config),
            })),
        }
    }

    /// A layer that lets every request through and adds no headers.
    pub fn disabled() -> Self {
        Self { shared: None }
    }

    /// Whether requests are throttled.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::new(inner, self.shared.clone())
    }
}
