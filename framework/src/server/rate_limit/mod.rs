//! Per-client request throttling, as an API gateway does it: a token bucket (GCRA, from the
//! `governor` crate) per client, configured by `[rate_limit]`.
//!
//! The layer needs servicekit's `rate-limit` feature; without it the `[rate_limit]` section
//! is still read, and `enabled = true` stops startup naming the feature.
//!
//! - Each client — by IP address, verified token subject, token client id or API key — has a
//!   bucket of `burst` requests that refills at `per_second`. Routes listed under
//!   `[rate_limit.routes."METHOD /template"]` get their own bucket per client; all other
//!   routes share the default one.
//! - A request over the limit is answered `429 Too Many Requests` as problem+json with
//!   `Retry-After` (whole seconds, rounded up) and is counted in
//!   [`RATE_LIMITED_TOTAL`]`{method, route}`; the handler does not run.
//! - Every response through the layer, allowed or not, carries [`RATELIMIT_LIMIT`],
//!   [`RATELIMIT_REMAINING`] and [`RATELIMIT_RESET`] (the fields of
//!   draft-ietf-httpapi-ratelimit-headers as most gateways send them, one header each).
//! - Buckets of clients that have been idle long enough to be full again are dropped every
//!   few seconds, so memory follows the number of recently active clients.
//!
//! # Shared buckets
//! By default each replica counts in its own memory, so N replicas allow N times the rate.
//! With `store = "redis"` (features `rate-limit` and `cache`, and `cache.url`) the buckets live
//! in Redis under `{prefix}:rl:{route}:{client hash}`, one Lua script round trip per request
//! with the same GCRA arithmetic and the same headers, so replicas with the same `prefix` share
//! one budget per client. When Redis fails or takes longer than `store_timeout`,
//! `on_store_error` decides: `fail_open` (the default) lets the request through, `fail_closed`
//! answers 503; both count in [`STORE_ERRORS_TOTAL`] and warn at most every 10 seconds.
//!
//! # Where it sits
//! The layer is applied by the service, not by the standard stack, because keying by token
//! subject must read the [`Principal`](crate::auth::Principal) that the auth layer verified —
//! never the unverified token, or a client could pick a fresh bucket by forging claims. Apply
//! it before `ctx.auth()` (the layer added last runs first), so it runs after authentication:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! # #[cfg(feature = "rate-limit")]
//! async fn app(ctx: servicekit::Context) -> Router {
//!     Router::new()
//!         .route("/students", get(|| async { "[]" }))
//!         .layer(ctx.rate_limit())
//!         .layer(ctx.auth())
//! }
//! ```
//!
//! Requests without the configured identity (no verified principal, no API key) count against
//! their IP address. `X-Forwarded-For` is only believed from `trusted_proxies`.

mod config;
#[cfg(feature = "rate-limit")]
mod key;
#[cfg(feature = "rate-limit")]
mod layer;
#[cfg(feature = "rate-limit")]
mod limiter;
#[cfg(feature = "rate-limit")]
mod quotas;
#[cfg(all(feature = "rate-limit", feature = "cache"))]
mod redis_store;
#[cfg(feature = "rate-limit")]
mod service;

pub use config::{KeyKind, RateLimitConfig, RouteLimit, StoreErrorPolicy, StoreKind};
#[cfg(feature = "rate-limit")]
pub use layer::RateLimitLayer;
#[cfg(feature = "rate-limit")]
pub use service::RateLimit;

pub(crate) use config::{parse_net, validate, validate_store};

/// Counter of requests answered 429, labelled `method` and `route` (the route template, or
/// `unmatched`); an alias of
/// [`HTTP_SERVER_RATE_LIMITED_TOTAL`](crate::telemetry::catalog::HTTP_SERVER_RATE_LIMITED_TOTAL).
pub const RATE_LIMITED_TOTAL: &str = crate::telemetry::catalog::HTTP_SERVER_RATE_LIMITED_TOTAL;
/// Counter of requests that found the Redis store failing or slower than
/// `rate_limit.store_timeout`, labelled `policy` (`fail_open`, `fail_closed`); an alias of
/// [`RATE_LIMIT_STORE_ERRORS_TOTAL`](crate::telemetry::catalog::RATE_LIMIT_STORE_ERRORS_TOTAL).
pub const STORE_ERRORS_TOTAL: &str = crate::telemetry::catalog::RATE_LIMIT_STORE_ERRORS_TOTAL;
/// Response header: the bucket size (requests a client may make at once).
pub const RATELIMIT_LIMIT: &str = "ratelimit-limit";
/// Response header: requests left in the client's bucket after this one.
pub const RATELIMIT_REMAINING: &str = "ratelimit-remaining";
/// Response header: whole seconds until the client's bucket is full again.
pub const RATELIMIT_RESET: &str = "ratelimit-reset";
