//! The verified-token cache: repeat requests with the same token skip signature verification.
//!
//! Entries are keyed by a 64-bit hash of the token (seeded at random per process) and keep the
//! token itself: a hit compares the whole text, so only the very same token can hit, and two
//! tokens whose hashes collide only evict each other. Entries are dropped once the token's
//! `exp` has passed. quick_cache (S3-FIFO, sharded, lock-light reads) bounds the entries by
//! number and by bytes: each weighs its token's bytes twice (the token and the claims decoded
//! from it) plus [`ENTRY_OVERHEAD`], at least [`MIN_WEIGHT`], and the cache holds `capacity` x
//! [`MIN_WEIGHT`] of weight: at most `capacity` tokens, fewer when they are large (10,000
//! tokens of the default capacity take at most about 40 MiB). A hit costs a hash of the token, a
//! comparison and two reference-count increments.

use std::hash::BuildHasher;
use std::sync::Arc;

use metrics::Counter;
use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, Weighter};

use super::Principal;

use crate::telemetry::catalog::{AUTH_TOKEN_CACHE_HITS_TOTAL, AUTH_TOKEN_CACHE_MISSES_TOTAL};

/// Counter of requests whose token was found in the cache; an alias of
/// [`AUTH_TOKEN_CACHE_HITS_TOTAL`](crate::telemetry::catalog::AUTH_TOKEN_CACHE_HITS_TOTAL).
pub const CACHE_HITS: &str = AUTH_TOKEN_CACHE_HITS_TOTAL;
/// Counter of requests whose token had to be verified; an alias of
/// [`AUTH_TOKEN_CACHE_MISSES_TOTAL`](crate::telemetry::catalog::AUTH_TOKEN_CACHE_MISSES_TOTAL).
pub const CACHE_MISSES: &str = AUTH_TOKEN_CACHE_MISSES_TOTAL;

/// Bytes an entry is charged besides its token: the principal and the cache's bookkeeping.
const ENTRY_OVERHEAD: u64 = 256;
/// The least weight of an entry; the cache holds `capacity` entries of this weight.
const MIN_WEIGHT: u64 = 4096;

/// A cached token and the principal it was verified as.
struct Entry {
    token: Box<str>,
    principal: Principal,
}

/// Weighs an entry by its bytes; see the [module docs](self).
#[derive(Debug, Clone, Copy)]
struct ByBytes;

impl Weighter<u64, Arc<Entry>> for ByBytes {
    fn weight(&self, _key: &u64, entry: &Arc<Entry>) -> u64 {
        (2 * entry.token.len() as u64 + ENTRY_OVERHEAD).max(MIN_WEIGHT)
    }
}

type Entries =
    Cache<u64, Arc<Entry>, ByBytes, DefaultHashBuilder, DefaultLifecycle<u64, Arc<Entry>>>;

/// A bounded map from token text to the principal it was verified as.
pub(crate) struct TokenCache {
    entries: Option<Entries>,
    hasher: DefaultHashBuilder,
    hits: Counter,
    misses: Counter,
}

impl TokenCache {
    /// A cache of up to `capacity` tokens (`0` disables it). The counters are registered with
    /// the `metrics` recorder installed at this point.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| {
                Cache::with(
                    capacity,
                    capacity as u64 * MIN_WEIGHT,
                    ByBytes,
                    DefaultHashBuilder::default(),
                    DefaultLifecycle::default(),
                )
            }),
            hasher: DefaultHashBuilder::default(),
            hits: metrics::counter!(AUTH_TOKEN_CACHE_HITS_TOTAL),
            misses: metrics::counter!(AUTH_TOKEN_CACHE_MISSES_TOTAL),
        }
    }

    /// The principal `token` was verified as, if it is cached and not expired at `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Principal> {
        let entries = self.entries.as_ref()?;
        let key = self.hasher.hash_one(token);
        if let Some(entry) = entries.get(&key)
            && *entry.token == *token
        {
            if entry.principal.expires_at() > now {
                self.hits.increment(1);
                return Some(entry.principal.clone());
            }
            entries.remove(&key);
        }
        self.misses.increment(1);
        None
    }

    /// Remembers that `token` was verified as `principal`.
    pub(crate) fn insert(&self, token: &str, principal: Principal) {
        if let Some(entries) = &self.entries {
            let entry = Entry {
                token: token.into(),
                principal,
            };
            entries.insert(self.hasher.hash_one(token), Arc::new(entry));
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
    fn large_tokens_are_bounded_by_bytes() {
        let cache = TokenCache::new(8);
        let big = "t".repeat(4 * MIN_WEIGHT as usize);
        for i in 0..8 {
            cache.insert(&format!("{big}{i}"), principal(1000));
        }
        // Each weighs about eight small entries: no more than one fits at a time.
        assert!(cache.len() <= 1, "{}", cache.len());
    }

    #[test]
    fn a_hash_collision_is_a_miss_not_a_wrong_hit() {
        let cache = TokenCache::new(10);
        cache.insert("a.b.c", principal(100));
        // Another token stored under the first one's key, as a collision would.
        let key = cache.hasher.hash_one("a.b.c");
        let other = Entry {
            token: "x.y.z".into(),
            principal: principal(100),
        };
        cache.entries.as_ref().unwrap().insert(key, Arc::new(other));
        assert!(cache.get("a.b.c", 50).is_none());
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
