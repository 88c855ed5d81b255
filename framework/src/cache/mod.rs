//! The shared cache: typed values in Redis (or Valkey, or ElastiCache) that every replica of a
//! service sees, with cache-aside that stays correct and cheap when Redis is not. See
//! [`docs/cache.md`](https://github.com/servicekit/servicekit/blob/main/docs/cache.md).
//!
//! **Why.** Behind a load balancer a service runs as several replicas; a cache in each
//! replica's memory misses on every replica, holds values the others already changed, and
//! multiplies the load on the database by the replica count. One Redis shared by the replicas
//! does not.
//!
//! **How.** `cache.url` (feature `cache`) gives the service one connection, a
//! `redis::aio::ConnectionManager` (a multiplexed connection that reconnects with backoff),
//! created at startup and shared by every [`Cache`] handle from
//! [`Context::cache`](crate::Context::cache). Values are JSON behind a format marker, under
//! `<cache.prefix>:<key>`, each with a TTL.
//! [`Cache::get_or_load`] is cache-aside with single-flight per key (concurrent misses in one
//! process run one load) and negative caching (a `None` from the loader is kept for
//! `cache.negative_ttl`).
//!
//! **Failure policy.** The cache is optional infrastructure: a service starts while Redis is
//! down, its readiness check `cache` only warns, and `get_or_load` never fails because of
//! Redis. Each command is bounded by `cache.timeout`; a failed or slow one sends the call to
//! its loader (`servicekit_cache_bypass_total`), and after `cache.breaker_failures` failures in
//! a row Redis is skipped for `cache.breaker_cooldown`, then probed by one command, so an
//! outage adds no latency to most calls. Recovery needs no restart.
//!
//! **Rate limits.** The same connection carries the cluster-wide rate limiter's buckets
//! (`rate_limit.store = "redis"`, with `rate-limit`): a GCRA Lua script, one round trip per
//! request, in the crate-internal `gcra` module; `server::rate_limit` owns the layer, its
//! keys and its failure policy.
//!
//! The configuration section, [`CacheConfig`], is always compiled, so that `cache.url` without
//! the `cache` feature fails at startup naming the feature. The `redis` crate was chosen over
//! `fred` and `deadpool-redis`: it is the reference client, its connection manager is the
//! reconnecting multiplexed connection a cache needs, and it speaks TLS with rustls.

#[cfg(feature = "cache")]
mod breaker;
#[cfg(feature = "cache")]
mod codec;
mod config;
#[cfg(feature = "cache")]
mod connection;
#[cfg(feature = "cache")]
mod error;
#[cfg(feature = "cache")]
mod flight;
#[cfg(all(feature = "cache", feature = "rate-limit"))]
pub(crate) mod gcra;
#[cfg(feature = "cache")]
mod health;
#[cfg(feature = "cache")]
mod metrics;
#[cfg(feature = "cache")]
mod typed;

pub use config::CacheConfig;
pub(crate) use config::validate;
#[cfg(feature = "cache")]
pub use error::{CacheError, NoCache};
#[cfg(feature = "cache")]
pub use typed::Cache;
