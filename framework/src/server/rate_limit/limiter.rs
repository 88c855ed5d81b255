//! The buckets: one keyed GCRA limiter (governor) per quota, shrunk as clients go idle.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::Method;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::config::{RateLimitConfig, quota};
use super::key::ClientKey;
use super::quotas::Quotas;

/// How often idle clients' buckets are dropped (at most; the work is done by a request).
const SHRINK_EVERY: Duration = Duration::from_secs(10);

type Keyed = RateLimiter<
    ClientKey,
    DefaultKeyedStateStore<ClientKey>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One quota and the per-client buckets under it.
struct Bucket {
    limiter: Keyed,
    burst: u32,
    period: Duration,
}

impl Bucket {
    fn new(quota: Quota) -> Self {
        Self {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            burst: quota.burst_size().get(),
            period: quota.replenish_interval(),
        }
    }

    fn check(&self, key: &ClientKey) -> Decision {
        match self.limiter.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: self.burst,
                    remaining,
                    reset: self.period * (self.burst - remaining),
                    retry_after: Duration::ZERO,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Decision {
                    allowed: false,
                    limit: self.burst,
                    remaining: 0,
                    reset: wait + self.period * (self.burst - 1),
                    retry_after: wait,
                }
            }
        }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Whether the request may proceed.
    pub(crate) allowed: bool,
    /// The bucket size (the burst).
    pub(crate) limit: u32,
    /// Requests left in the bucket after this one.
    pub(crate) remaining: u32,
    /// Time until the bucket is full again.
    pub(crate) reset: Duration,
    /// Time until the next request can be allowed (zero when allowed).
    pub(crate) retry_after: Duration,
}

/// The default bucket and one per overridden route.
pub(crate) struct Limiters {
    buckets: Quotas<Bucket>,
    last_shrink: Mutex<Instant>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("clients", &self.buckets.default_quota().limiter.len())
            .field("routes", &self.buckets.routes().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Limiters {
    /// From a configuration that passed validation; invalid entries would have failed startup,
    /// so here they are skipped.
    pub(crate) fn new(config: &RateLimitConfig) -> Self {
        let default = quota("rate_limit", config.per_second, config.burst)
            .unwrap_or_else(|_| Quota::per_second(std::num::NonZeroU32::MIN));
        let buckets = Quotas::new(config, Bucket::new(default), |_, limit| {
            Some(Bucket::new(quota("", limit.per_second, limit.burst).ok()?))
        });
        Self {
            buckets,
            last_shrink: Mutex::new(Instant::now()),
        }
    }

    /// Counts a request of `key` on `method route` (the matched template, if any).
    pub(crate) fn check(&self, method: &Method, route: Option<&str>, key: &ClientKey) -> Decision {
        self.maybe_shrink();
        self.buckets.get(method, route).check(key)
    }

    /// Drops the buckets of clients that are back to a full bucket, at most every
    /// [`SHRINK_EVERY`]; the request that finds the interval over does the work, the others
    /// carry on.
    fn maybe_shrink(&self) {
        let Ok(mut last) = self.last_shrink.try_lock() else {
            return;
        };
        if last.elapsed() < SHRINK_EVERY {
            return;
        }
        *last = Instant::now();
        self.shrink();
    }

    /// Drops the buckets of idle clients now.
    pub(crate) fn shrink(&self) {
        for bucket in self.buckets.all() {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
    }

    /// How many clients have a bucket (across all quotas).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.all().map(|b| b.limiter.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn limiters(config: serde_json::Value) -> Limiters {
        Limiters::new(&serde_json::from_value(config).unwrap())
    }

    #[test]
    fn burst_then_limited_with_retry_after() {
        let l = limiters(json!({"per_second": 1, "burst": 3}));
        let k = ClientKey::Subject("a".into());
        let got: Vec<_> = (0..3).map(|_| l.check(&Method::GET, None, &k)).collect();
        assert_eq!(
            got.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        assert!(got.iter().all(|d| d.allowed && d.limit == 3));
        assert_eq!(got[2].reset, Duration::from_secs(3));
        let limited = l.check(&Method::GET, None, &k);
        assert!(!limited.allowed);
        assert!(
            limited.retry_after > Duration::from_millis(900),
            "{limited:?}"
        );
        assert!(limited.retry_after <= Duration::from_secs(1), "{limited:?}");
        assert!(
            limited.reset > Duration::from_millis(2900) && limited.reset <= Duration::from_secs(3)
        );
        // Another client has its own bucket.
        assert!(
            l.check(&Method::GET, None, &ClientKey::Subject("b".into()))
                .allowed
        );
    }

    #[test]
    fn routes_have_their_own_buckets() {
        let l = limiters(json!({"per_second": 1, "burst": 1,
            "routes": {"POST /students": {"per_second": 1, "burst": 2}}}));
        let k = ClientKey::Unknown;
        let post = |l: &Limiters| l.check(&Method::POST, Some("/students"), &k);
        assert!(post(&l).allowed && post(&l).allowed && !post(&l).allowed);
        assert_eq!(post(&l).limit, 2);
        // The default bucket is untouched by the override, and shared by other routes.
        assert!(l.check(&Method::GET, Some("/students"), &k).allowed);
        assert!(!l.check(&Method::GET, Some("/other"), &k).allowed);
    }

    #[test]
    fn idle_clients_are_dropped() {
        let l = limiters(json!({"per_second": 1000, "burst": 1}));
        for i in 0..100u8 {
            l.check(&Method::GET, None, &ClientKey::Ip([10, 0, 0, i].into()));
        }
        assert_eq!(l.len(), 100);
        std::thread::sleep(Duration::from_millis(20));
        l.shrink();
        assert_eq!(l.len(), 0);
    }
}
