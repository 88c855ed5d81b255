//! The shared store behind `rate_limit.store = "redis"`: one GCRA bucket per key in Redis,
//! counted by a Lua script so that N replicas share one budget per client.
//!
//! Each check is one round trip: `EVALSHA` of [`gcra.lua`](self) (with `EVAL` on the first use
//! against a server that has not seen it yet, handled by [`redis::Script`]). The script reads
//! the server's clock, so replicas whose clocks disagree still agree on the bucket, and stores
//! only the theoretical arrival time of the next request with an expiry at the moment the
//! bucket is full again: idle clients leave no keys behind.
//!
//! The arithmetic is governor's (`Gcra::test_and_update` and
//! `StateSnapshot::remaining_burst_capacity`), in microseconds instead of nanoseconds because
//! Lua numbers are doubles (exact up to 2^53: microseconds since 1970 fit, nanoseconds do not).

use std::time::Duration;

use redis::aio::ConnectionManager;

/// The script; its SHA-1 is computed once, when the store is built.
const SCRIPT: &str = include_str!("gcra.lua");

/// The outcome of counting one request in a Redis bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GcraOutcome {
    /// Whether the request may proceed.
    pub(crate) allowed: bool,
    /// Requests left in the bucket after this one.
    pub(crate) remaining: u32,
    /// Time until the bucket is full again.
    pub(crate) reset: Duration,
    /// Time until the next request can be allowed (zero when allowed).
    pub(crate) retry_after: Duration,
}

/// A bucket's rate: the refill period (one request per `period`) and the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GcraRate {
    period_us: u64,
    burst: u32,
}

impl GcraRate {
    /// One request per `period` (rounded to whole microseconds, at least one), `burst` at once.
    pub(crate) fn new(period: Duration, burst: u32) -> Self {
        let period_us = u64::try_from(period.as_micros()).unwrap_or(u64::MAX);
        Self {
            period_us: period_us.max(1),
            burst: burst.max(1),
        }
    }
}

/// GCRA buckets in Redis, on a shared connection.
#[derive(Clone)]
pub(crate) struct GcraStore {
    connection: ConnectionManager,
    script: std::sync::Arc<redis::Script>,
}

impl std::fmt::Debug for GcraStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcraStore")
            .field("script", &self.script.get_hash())
            .finish_non_exhaustive()
    }
}

impl GcraStore {
    /// A store on `connection` (a clone of the service's one Redis connection).
    pub(crate) fn new(connection: ConnectionManager) -> Self {
        Self {
            connection,
            script: std::sync::Arc::new(redis::Script::new(SCRIPT)),
        }
    }

    /// Counts one request against the bucket `key` at `rate`: one round trip.
    pub(crate) async fn check(&self, key: &str, rate: GcraRate) -> redis::RedisResult<GcraOutcome> {
        let mut connection = self.connection.clone();
        let (allowed, remaining, reset_us, retry_after_us): (u8, u32, u64, u64) = self
            .script
            .key(key)
            .arg(rate.period_us)
            .arg(rate.burst)
            .invoke_async(&mut connection)
            .await?;
        Ok(GcraOutcome {
            allowed: allowed == 1,
            remaining,
            reset: Duration::from_micros(reset_us),
            retry_after: Duration::from_micros(retry_after_us),
        })
    }
}

#[cfg(test)]
mod tests {
    //! Against the machine's Redis (127.0.0.1:6379); each test uses keys of its own.

    use super::*;

    async fn store() -> GcraStore {
        let client = redis::Client::open("redis://127.0.0.1:6379").expect("redis url");
        GcraStore::new(ConnectionManager::new(client).await.expect("redis on 6379"))
    }

    fn key(name: &str) -> String {
        format!("servicekit-test:gcra:{name}:{}", uuid::Uuid::new_v4())
    }

    async fn ttl_ms(store: &GcraStore, key: &str) -> i64 {
        let mut c = store.connection.clone();
        redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn burst_then_limited_like_governor() {
        let store = store().await;
        let k = key("burst");
        let rate = GcraRate::new(Duration::from_secs(1), 3);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(store.check(&k, rate).await.unwrap());
        }
        assert_eq!(
            got.iter().map(|o| o.remaining).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        assert!(got.iter().all(|o| o.allowed && o.retry_after.is_zero()));
        // As governor: the reset of an allowed request is period × (burst − remaining).
        assert_eq!(got[0].reset, Duration::from_secs(1));
        assert_eq!(got[2].reset, Duration::from_secs(3));

        let limited = store.check(&k, rate).await.unwrap();
        assert!(!limited.allowed);
        assert_eq!(limited.remaining, 0);
        assert!(
            limited.retry_after > Duration::from_millis(900)
                && limited.retry_after <= Duration::from_secs(1),
            "{limited:?}"
        );
        assert_eq!(limited.reset, limited.retry_after + Duration::from_secs(2));
        // A limited request does not spend anything: the wait does not grow.
        let again = store.check(&k, rate).await.unwrap();
        assert!(!again.allowed && again.retry_after <= limited.retry_after);
        // The key lives until the bucket is full again (3 periods after the first request).
        let ttl = ttl_ms(&store, &k).await;
        assert!(ttl > 2_000 && ttl <= 3_000, "PTTL {ttl}");
        // Another key is another bucket.
        assert!(store.check(&key("other"), rate).await.unwrap().allowed);
    }

    #[tokio::test]
    async fn the_bucket_refills_at_the_rate() {
        let store = store().await;
        let k = key("refill");
        // 20 ms per request, a burst of 2.
        let rate = GcraRate::new(Duration::from_millis(20), 2);
        assert!(store.check(&k, rate).await.unwrap().allowed);
        assert!(store.check(&k, rate).await.unwrap().allowed);
        let limited = store.check(&k, rate).await.unwrap();
        assert!(!limited.allowed);
        tokio::time::sleep(limited.retry_after + Duration::from_millis(2)).await;
        let refilled = store.check(&k, rate).await.unwrap();
        assert!(refilled.allowed, "{refilled:?}");
        assert_eq!(refilled.remaining, 0);
        // Once the bucket is full again the key has expired: nothing is kept for idle clients.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let mut c = store.connection.clone();
        let exists: bool = redis::cmd("EXISTS")
            .arg(&k)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(!exists);
    }

    /// On a private server (`testing::RedisServer`): SCRIPT FLUSH must not touch the machine's
    /// Redis, which other tests use.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn the_script_is_loaded_again_after_a_script_flush() {
        let server = crate::testing::RedisServer::start().await;
        let client = redis::Client::open(server.url()).unwrap();
        let store = GcraStore::new(ConnectionManager::new(client).await.unwrap());
        let k = key("flush");
        let rate = GcraRate::new(Duration::from_secs(10), 5);
        assert_eq!(store.check(&k, rate).await.unwrap().remaining, 4);
        // A failover to a replica without the script, as SCRIPT FLUSH simulates: EVALSHA answers
        // NOSCRIPT and the store loads the script and carries on, without losing the bucket.
        let mut c = store.connection.clone();
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(store.check(&k, rate).await.unwrap().remaining, 3);
    }

    #[tokio::test]
    async fn concurrent_checks_are_atomic() {
        let store = store().await;
        let k = key("atomic");
        let rate = GcraRate::new(Duration::from_secs(3600), 25);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (store, k) = (store.clone(), k.clone());
            tasks.spawn(async move { store.check(&k, rate).await.unwrap().allowed });
        }
        let allowed = tasks.join_all().await.into_iter().filter(|a| *a).count();
        assert_eq!(allowed, 25);
    }

    #[test]
    fn rates_are_whole_microseconds_at_least_one() {
        assert_eq!(GcraRate::new(Duration::from_nanos(10), 0).period_us, 1);
        assert_eq!(GcraRate::new(Duration::from_nanos(10), 0).burst, 1);
        assert_eq!(
            GcraRate::new(Duration::from_secs_f64(1.0 / 3.0), 4).period_us,
            333_333
        );
    }
}
