//! The verified-token cache: repeat requests with the same token skip signature verification.
//!
//! Entries are keyed by the complete token text, so only the very same token can hit, and are
//! dropped once the token's `exp` has passed. quick_cache (S3-FIFO, sharded, lock-light reads)
//! bounds the number of entries; a hit costs a hash of the token and a comparison.

use metrics::Counter;
use quick_cache::sync::Cache;

use super::Principal;

use crate::telemetry::catalog::{AUTH_TOKEN_CACHE_HITS_TOTAL, AUTH_TOKEN_CACHE_MISSES_TOTAL};

/// Counter of requests whose token was found in the cache; an alias of
/// [`AUTH_TOKEN_CACHE_HITS_TOTAL`](crate::telemetry::catalog::AUTH_TOKEN_CACHE_HITS_TOTAL).
pub const CACHE_HITS: &str = AUTH_TOKEN_CACHE_HITS_TOTAL;
/// Counter of requests whose token had to be verified; an alias of
/// [`AUTH_TOKEN_CACHE_MISSES_TOTAL`](crate::telemetry::catalog::AUTH_TOKEN_CACHE_MISSES_TOTAL).
pub const CACHE_MISSES: &str = AUTH_TOKEN_CACHE_MISSES_TOTAL;

/// A bounded map from token text to the principal it was verified as.
pub(crate) struct TokenCache {
    entries: Option<Cache<Box<str>, Principal>>,
    hits: Counter,
    misses: Counter,
}

impl TokenCache {
    /// A cache of up to `capacity` tokens (`0` disables it). The counters are registered with
    /// the `metrics` recorder installed at this point.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
            hits: metrics::counter!(AUTH_TOKEN_CACHE_HITS_TOTAL),
            misses: metrics::counter!(AUTH_TOKEN_CACHE_MISSES_TOTAL),
        }
    }

    /// The principal `token` was verified as, if it is cached and not expired at `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Principal> {
        let entries = self.entries.as_ref()?;
        if let Some(principal) = entries.get(token) {
            if principal.expires_at() > now {
                self.hits.increment(1);
                return Some(principal);
            }
            entries.remove(token);
        }
        self.misses.increment(1);
        None
    }

    /// Remembers that `token` was verified as `principal`.
    pub(crate) fn insert(&self, token: &str, principal: Principal) {
        if let Some(entries) = &self.entries {
            entries.insert(token.into(), principal);
        }
    }

    /// Forgets every verified token (the keys changed: each must be verified again).
    pub(crate) fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries.clear();
        }
    }

    /// The number of cached tokens.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, Cache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(exp: u64) -> Principal {
        Principal::from_claims(serde_json::json!({"sub": "u", "exp": exp}))
    }

    #[test]
    fn only_the_same_token_hits() {
        let cache = TokenCache::new(10);
        cache.insert("a.b.c", principal(100));
        assert_eq!(cache.get("a.b.c", 50).unwrap().subject(), Some("u"));
        assert!(cache.get("a.b.cd", 50).is_none());
        assert!(cache.get("a.b.", 50).is_none());
    }

    #[test]
    fn entries_expire_at_exp() {
        let cache = TokenCache::new(10);
        cache.insert("t", principal(100));
        assert!(cache.get("t", 100).is_none());
        assert_eq!(cache.len(), 0, "expired entry removed");
    }

    /// A recorder that hands out one shared atomic per counter name.
    #[derive(Default)]
    struct Counting {
        counters: std::sync::Mutex<
            std::collections::HashMap<String, std::sync::Arc<std::sync::atomic::AtomicU64>>,
        >,
    }

    impl Counting {
        fn value(&self, name: &str) -> u64 {
            let counters = self.counters.lock().unwrap();
            counters
                .get(name)
                .map_or(0, |c| c.load(std::sync::atomic::Ordering::SeqCst))
        }
    }

    impl metrics::Recorder for Counting {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> Counter {
            let mut counters = self.counters.lock().unwrap();
            let atomic = counters.entry(key.name().to_string()).or_default().clone();
            Counter::from_arc(atomic)
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let recorder = Counting::default();
        let cache = metrics::with_local_recorder(&recorder, || TokenCache::new(10));
        assert!(cache.get("t", 1).is_none());
        cache.insert("t", principal(100));
        assert!(cache.get("t", 1).is_some());
        assert!(cache.get("t", 2).is_some());
        assert_eq!(recorder.value(CACHE_HITS), 2);
        assert_eq!(recorder.value(CACHE_MISSES), 1);
    }

    #[test]
    fn capacity_bounds_entries_and_zero_disables() {
        let cache = TokenCache::new(4);
        for i in 0..100 {
            cache.insert(&format!("token-{i}"), principal(1000));
        }
        assert!(cache.len() <= 4, "{}", cache.len());
        let off = TokenCache::new(0);
        off.insert("t", principal(100));
        assert!(off.get("t", 1).is_none());
    }
}
