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
    pub(super) store: Store,
    pub(super) keys: KeyExtractor,
}

/// Where the buckets are counted.
#[derive(Debug)]
pub(super) enum Store {
    /// In this process.
    Local(Limiters),
    /// In Redis, shared with the other replicas.
    #[cfg(feature = "cache")]
    Redis(super::redis_store::RedisLimiters),
}

impl RateLimitLayer {
    /// A layer with its buckets in this process, as `config` says; a disabled configuration
    /// gives [`RateLimitLayer::disabled`]. `config.store` is not read here: for buckets in
    /// Redis use [`RateLimitLayer::redis`] (which [`Context::rate_limit`](crate::Context::rate_limit)
    /// does when `store = "redis"`).
    ///
    /// `config` should have passed validation (servicekit validates `[rate_limit]` at startup);
    /// invalid route overrides are skipped and an invalid default rate becomes one request per
    /// second.
    pub fn new(config: &RateLimitConfig) -> Self {
        if !config.enabled {
            return Self::disabled();
        }
        let local = RateLimitConfig {
            store: super::StoreKind::Local,
            ..config.clone()
        };
        Self {
            shared: Some(Arc::new(Shared {
                store: Store::Local(Limiters::new(&local)),
                keys: KeyExtractor::new(&local),
            })),
        }
    }

    /// A layer with its buckets in Redis on `connection`, shared by every replica that uses
    /// the same `prefix` (servicekit passes `rate_limit.prefix`, else the service name): the
    /// keys are `{prefix}:rl:{route}:{client hash}`. `rate_limit.on_store_error` and
    /// `rate_limit.store_timeout` say what a request gets when Redis fails. Needs the `cache`
    /// feature; a disabled configuration gives [`RateLimitLayer::disabled`].
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    /// use servicekit::server::{RateLimitConfig, RateLimitLayer};
    ///
    /// # async fn app() -> Result<Router, redis::RedisError> {
    /// let config: RateLimitConfig = serde_json::from_value(serde_json::json!(
    ///     {"enabled": true, "store": "redis", "per_second": 10, "burst": 20}
    /// )).unwrap();
    /// let redis = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let connection = redis::aio::ConnectionManager::new(redis).await?;
    /// Ok(Router::new()
    ///     .route("/students", get(|| async { "[]" }))
    ///     .layer(RateLimitLayer::redis(&config, "student-service", connection)))
    /// # }
    /// ```
    #[cfg(feature = "cache")]
    pub fn redis(
        config: &RateLimitConfig,
        prefix: &str,
        connection: redis::aio::ConnectionManager,
    ) -> Self {
        if !config.enabled {
            return Self::disabled();
        }
        let redis = RateLimitConfig {
            store: super::StoreKind::Redis,
            ..config.clone()
        };
        let store = crate::cache::gcra::GcraStore::new(connection);
        Self {
            shared: Some(Arc::new(Shared {
                store: Store::Redis(super::redis_store::RedisLimiters::new(
                    &redis, prefix, store,
                )),
                keys: KeyExtractor::new(&redis),
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
