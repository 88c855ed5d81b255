//! The buckets in Redis (`rate_limit.store = "redis"`): the keys, the rates per route, the
//! store timeout and what a failure turns into.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::http::Method;

use super::config::{RateLimitConfig, StoreErrorPolicy, period};
use super::key::ClientKey;
use super::limiter::Decision;
use super::quotas::Quotas;
use crate::cache::gcra::{GcraRate, GcraStore};
use crate::telemetry::catalog::RATE_LIMIT_STORE_ERRORS_TOTAL;

/// At most one warning about store failures per this interval (the metric counts them all).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// One quota: its rate in the script's terms, its burst, and its part of the key.
#[derive(Debug)]
struct Quota {
    rate: GcraRate,
    burst: u32,
    /// `default`, or the route override's key with Redis-neutral characters.
    name: String,
}

impl Quota {
    fn new(per_second: f64, burst: u32, name: String) -> Self {
        Self {
            rate: GcraRate::new(period(per_second), burst),
            burst: burst.max(1),
            name,
        }
    }
}

/// The Redis store failed or did not answer within `store_timeout`.
#[derive(Debug)]
pub(crate) struct StoreError(String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The default quota and the route overrides, counted in Redis under `prefix`.
#[derive(Debug)]
pub(crate) struct RedisLimiters {
    store: GcraStore,
    prefix: String,
    quotas: Quotas<Quota>,
    timeout: Duration,
    pub(crate) policy: StoreErrorPolicy,
    /// For the warn-rate limit: when the service started, and the last warning (milliseconds
    /// since `started`, `u64::MAX` for never) and the failures since.
    started: Instant,
    last_warning: AtomicU64,
    failures_since_warning: AtomicU64,
    /// Whether the last check failed (to log the recovery once).
    failing: AtomicBool,
}

impl RedisLimiters {
    /// From a validated configuration; `prefix` is `rate_limit.prefix` or the service name.
    pub(crate) fn new(config: &RateLimitConfig, prefix: &str, store: GcraStore) -> Self {
        let default = Quota::new(config.per_second, config.burst, "default".into());
        let quotas = Quotas::new(config, default, |name, limit| {
            Some(Quota::new(limit.per_second, limit.burst, key_part(name)))
        });
        Self {
            store,
            prefix: prefix.to_owned(),
            quotas,
            timeout: config.store_timeout,
            policy: config.on_store_error,
            started: Instant::now(),
            last_warning: AtomicU64::new(u64::MAX),
            failures_since_warning: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// Counts a request of `key` on `method route`: one round trip, at most `store_timeout`.
    pub(crate) async fn check(
        &self,
        method: &Method,
        route: Option<&str>,
        key: &ClientKey,
    ) -> Result<Decision, StoreError> {
        let quota = self.quotas.get(method, route);
        let redis_key = format!("{}:rl:{}:{}", self.prefix, quota.name, client_part(key));
        let outcome = tokio::time::timeout(self.timeout, self.store.check(&redis_key, quota.rate))
            .await
            .map_err(|_| {
                StoreError(format!(
                    "no answer within rate_limit.store_timeout ({})",
                    humantime::format_duration(self.timeout)
                ))
            })?
            .map_err(|e| StoreError(e.to_string()))?;
        if self.failing.load(Ordering::Relaxed) && self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("the rate-limit store (Redis) answers again; requests are throttled");
        }
        Ok(Decision {
            allowed: outcome.allowed,
            limit: quota.burst,
            remaining: outcome.remaining,
            reset: outcome.reset,
            retry_after: outcome.retry_after,
        })
    }

    /// Counts a failure in the metric, and logs it at warn unless another warning was written
    /// in the last [`WARN_EVERY`].
    pub(crate) fn failed(&self, error: &StoreError) {
        self.failing.store(true, Ordering::Relaxed);
        let policy = self.policy.as_str();
        metrics::counter!(RATE_LIMIT_STORE_ERRORS_TOTAL, "policy" => policy).increment(1);
        let failures = self.failures_since_warning.fetch_add(1, Ordering::Relaxed) + 1;
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last_warning.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.failures_since_warning.store(0, Ordering::Relaxed);
            tracing::warn!(
                %error,
                policy,
                failures,
                "the rate-limit store (Redis) failed; requests are {} until it answers again \
                 (at most one warning every {} s; servicekit_rate_limit_store_errors_total counts each)",
                match self.policy {
                    StoreErrorPolicy::FailOpen => "let through unthrottled",
                    StoreErrorPolicy::FailClosed => "answered 503",
                },
                WARN_EVERY.as_secs(),
            );
        }
    }
}

/// A route key (`POST /students/{id}`) without the characters that mean something in Redis
/// keys: braces (Redis Cluster hash tags) and spaces.
fn key_part(route: &str) -> String {
    route
        .chars()
        .map(|c| match c {
            '{' => '(',
            '}' => ')',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect()
}

/// The client's part of the key: 128 bits of SHA-256 over the key's kind and value, in hex, so
/// that neither subjects nor API keys are written to Redis and every replica computes the same.
fn client_part(key: &ClientKey) -> String {
    let mut hash = digest::Context::new(&digest::SHA256);
    match key {
        ClientKey::Ip(ip) => {
            hash.update(b"ip\0");
            hash.update(ip.to_canonical().to_string().as_bytes());
        }
        ClientKey::Subject(sub) => {
            hash.update(b"sub\0");
            hash.update(sub.as_bytes());
        }
        ClientKey::ClientId(id) => {
            hash.update(b"client_id\0");
            hash.update(id.as_bytes());
        }
        ClientKey::ApiKey(h) => {
            hash.update(b"api_key\0");
            hash.update(&h.to_be_bytes());
        }
        ClientKey::Unknown => hash.update(b"unknown\0"),
    }
    let digest = hash.finish();
    let mut hex = String::with_capacity(32);
    for byte in &digest.as_ref()[..16] {
        use std::fmt::Write;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// A keyed-by-nothing hash of an API key that every replica computes alike: the first 64 bits
/// of its SHA-256 (the key itself is never kept).
pub(crate) fn shared_api_key_hash(api_key: &[u8]) -> u64 {
    let digest = digest::digest(&digest::SHA256, api_key);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_are_stable_distinct_and_redis_neutral() {
        assert_eq!(key_part("GET /students/{id}"), "GET_/students/(id)");
        let sub = client_part(&ClientKey::Subject("ada".into()));
        assert_eq!(sub.len(), 32);
        assert!(sub.bytes().all(|b| b.is_ascii_hexdigit()));
        // The same everywhere (no per-process seed), and kinds never collide.
        assert_eq!(sub, client_part(&ClientKey::Subject("ada".into())));
        assert_ne!(sub, client_part(&ClientKey::ClientId("ada".into())));
        assert_eq!(
            client_part(&ClientKey::Ip("::ffff:10.0.0.1".parse().unwrap())),
            client_part(&ClientKey::Ip("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(shared_api_key_hash(b"alpha"), shared_api_key_hash(b"alpha"));
        assert_ne!(shared_api_key_hash(b"alpha"), shared_api_key_hash(b"beta"));
    }
}
