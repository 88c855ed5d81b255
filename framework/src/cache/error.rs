//! Why a cache command gave no answer, and why a service has no cache.

/// A cache command that gave no answer. [`Cache::get_or_load`](super::Cache::get_or_load)
/// never returns it (it goes to the loader instead); [`Cache::get`](super::Cache::get),
/// [`set`](super::Cache::set) and [`delete`](super::Cache::delete) do, so that the caller
/// chooses: usually log it and go on without the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Recent commands failed, so the cache is skipped for `cache.breaker_cooldown`.
    #[error(
        "the cache is skipped after consecutive failures (cache.breaker_failures); Redis is probed again after cache.breaker_cooldown"
    )]
    Unavailable,
    /// Redis did not answer within `cache.timeout`.
    #[error("Redis did not answer within cache.timeout ({0:?})")]
    Timeout(std::time::Duration),
    /// Redis answered with an error, or the connection failed.
    #[error("Redis: {0}")]
    Redis(#[source] redis::RedisError),
    /// The value could not be serialized to JSON.
    #[error("the value cannot be serialized to JSON: {0}")]
    Encode(#[source] serde_json::Error),
}

/// [`Context::cache`](crate::Context::cache) was called on a service without `cache.url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this service has no cache: set cache.url to the Redis server, e.g. \
     `redis://127.0.0.1:6379` (SERVICEKIT__CACHE__URL); see docs/cache.md"
)]
pub struct NoCache;
