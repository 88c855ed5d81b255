//! [`Cache`]: typed values in Redis under the service's prefix, and cache-aside with
//! single-flight, negative caching and a bounded cost when Redis is down.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{self, Stored};
use super::config::CacheConfig;
use super::connection::{Connection, reason_of};
use super::error::CacheError;
use super::flight::{self, Flights, Landed, Role};
use super::health::CacheCheck;
use super::metrics::{self, Lookup, Operation};
use crate::health::Health;
use crate::invalid::InvalidSetting;

/// The service's shared cache, from [`Context::cache`](crate::Context::cache): serde values in
/// Redis as JSON, under keys `<cache.prefix>:<key>`, with a TTL each.
///
/// Cloning is cheap (one connection and one single-flight table per service). Every command
/// is bounded by `cache.timeout` and skipped for `cache.breaker_cooldown` after
/// `cache.breaker_failures` failures in a row. [`Cache::get_or_load`] never fails because of
/// Redis: it goes to the loader instead. See
/// [`docs/cache.md`](https://github.com/servicekit/servicekit/blob/main/docs/cache.md).
///
/// ```no_run
/// use axum::{Router, extract::{Path, State}, routing::get};
/// use servicekit::cache::Cache;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Student { id: u64, name: String }
///
/// async fn find_student(id: u64) -> Result<Option<Student>, std::io::Error> {
///     Ok(Some(Student { id, name: "Ada".into() })) // the database query
/// }
///
/// async fn student(State(cache): State<Cache>, Path(id): Path<u64>) -> String {
///     let found = cache
///         .get_or_load(&format!("student:{id}"), None, || find_student(id))
///         .await;
///     match found {
///         Ok(Some(student)) => student.name,
///         Ok(None) => "not found".into(),
///         Err(e) => e.to_string(),
///     }
/// }
///
/// async fn app(ctx: servicekit::Context) -> Result<Router, servicekit::BoxError> {
///     let cache = ctx.cache()?;
///     Ok(Router::new().route("/students/{id}", get(student)).with_state(cache))
/// }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    prefix: String,
    default_ttl: Duration,
    negative_ttl: Duration,
    flights: Flights,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("target", &self.inner.connection.target())
            .field("prefix", &self.inner.prefix)
            .field("default_ttl", &self.inner.default_ttl)
            .field("negative_ttl", &self.inner.negative_ttl)
            .finish_non_exhaustive()
    }
}

/// What a lookup found.
enum Found<T> {
    /// A value, with its stored form.
    Value(T, Vec<u8>),
    /// "Absent", remembered by negative caching.
    Absent,
    /// Nothing usable: no entry, or one that does not decode.
    Missing,
    /// Redis gave no answer.
    Unavailable(CacheError),
}

impl Cache {
    /// The cache of `config` (whose `url` is set) for `service`: creates the connection,
    /// registers the `cache` readiness check (warn only) and tries one `PING`, logging a
    /// warning when Redis does not answer; startup goes on either way.
    pub(crate) async fn open(
        config: &CacheConfig,
        service: &str,
        health: &Health,
    ) -> Result<Self, InvalidSetting> {
        let connection = Connection::new(config)?;
        let prefix = config.prefix.clone().unwrap_or_else(|| service.to_string());
        match connection
            .ping(config.connect_timeout + config.timeout)
            .await
        {
            Ok(()) => tracing::info!(target = connection.target(), %prefix, "cache connected"),
            Err(e) => tracing::warn!(
                target = connection.target(),
                error = %e,
                "the cache does not answer; the service starts without it (calls go to their \
                 loaders) and reconnects in the background"
            ),
        }
        health.register(CacheCheck {
            connection: connection.clone(),
            within: config.connect_timeout + config.timeout,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                connection,
                prefix,
                default_ttl: config.default_ttl,
                negative_ttl: config.negative_ttl,
                flights: Flights::default(),
            }),
        })
    }

    /// The Redis key of `key`: `<cache.prefix>:<key>`.
    pub fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.inner.prefix)
    }

    /// `cache.default_ttl`, used when a call gives no TTL.
    pub fn default_ttl(&self) -> Duration {
        self.inner.default_ttl
    }

    /// The shared connection manager, for modules that talk to the same Redis (the
    /// cluster-wide rate limiter): cloning it shares the one connection. Bound each command
    /// with [`Cache::command_timeout`].
    #[allow(
        dead_code,
        reason = "the handle the cluster-wide rate limiter (rate_limit.store = \"redis\") uses"
    )]
    pub(crate) fn connection(&self) -> redis::aio::ConnectionManager {
        self.inner.connection.manager()
    }

    /// `cache.timeout`, the longest one command may take.
    #[allow(
        dead_code,
        reason = "the handle the cluster-wide rate limiter (rate_limit.store = \"redis\") uses"
    )]
    pub(crate) fn command_timeout(&self) -> Duration {
        self.inner.connection.timeout()
    }

    /// The value stored under `key`, if any. A value that no longer deserialises into `T`, and
    /// an entry of negative caching, read as `None`. Fails only when Redis gives no answer
    /// (down, slower than `cache.timeout`, or skipped by the breaker).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        match self.lookup(&self.key(key), true).await {
            Found::Value(value, _) => Ok(Some(value)),
            Found::Absent | Found::Missing => Ok(None),
            Found::Unavailable(e) => Err(e),
        }
    }

    /// Stores `value` under `key` for `ttl` (`None`: `cache.default_ttl`).
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let entry = codec::encode(value).map_err(CacheError::Encode)?;
        self.write(
            &self.key(key),
            &entry,
            ttl.unwrap_or(self.inner.default_ttl),
        )
        .await
    }

    /// Removes `key` (after a write to the source of truth, say). Removing a key that is not
    /// there succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut command = redis::cmd("DEL");
        command.arg(self.key(key));
        self.inner
            .connection
            .run::<i64>(Operation::Delete, &command)
            .await
            .map(|_| ())
    }

    /// Cache-aside: the value under `key`, or else what `load` returns, stored for `ttl`
    /// (`None`: `cache.default_ttl`). `Ok(None)` from `load` ("not found") is remembered for
    /// `cache.negative_ttl`, so a missing row is not queried on every request.
    ///
    /// - **Single-flight**: concurrent calls that miss the same key in this process run one
    ///   `load`; the others wait for it and get its value. When that load fails, each waiting
    ///   call runs its own `load` (and gets its own error or value).
    /// - **Outage bound**: when Redis fails, is slower than `cache.timeout` or is skipped by
    ///   the breaker, the call goes to `load` (counted in `servicekit_cache_bypass_total`);
    ///   the only error is `load`'s own. After `cache.breaker_failures` such failures in a row
    ///   Redis is skipped for `cache.breaker_cooldown`, so an outage costs at most a few
    ///   timeouts, not one per call.
    /// - A stored value that no longer deserialises into `T` is a miss, and is overwritten.
    pub async fn get_or_load<T, E, F, Fut>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        load: F,
    ) -> Result<Option<T>, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let key = self.key(key);
        let mut bypass = match self.lookup::<T>(&key, true).await {
            Found::Value(value, _) => return Ok(Some(value)),
            Found::Absent => return Ok(None),
            Found::Missing => false,
            Found::Unavailable(e) => {
                metrics::bypass(reason_of(&e));
                true
            }
        };
        let lead = loop {
            match self.inner.flights.join(&key) {
                Role::Leader(lead) => break lead,
                Role::Follower(slot) => match flight::follow(slot).await {
                    Some(Landed::Entry(entry)) => match codec::decode::<T>(&entry) {
                        Stored::Value(value) => return Ok(Some(value)),
                        Stored::Absent => return Ok(None),
                        // Another caller asked for the same key as another type.
                        Stored::Undecodable => return load().await,
                    },
                    Some(Landed::Failed) => return load().await,
                    // The leader was cancelled: start over, one of us leads.
                    None => continue,
                },
            }
        };
        if !bypass {
            // A flight of this key may have landed between our lookup and our lead.
            match self.lookup::<T>(&key, false).await {
                Found::Value(value, entry) => {
                    lead.land(Landed::Entry(entry.into()));
                    return Ok(Some(value));
                }
                Found::Absent => {
                    lead.land(Landed::Entry(codec::ABSENT.into()));
                    return Ok(None);
                }
                Found::Missing => {}
                Found::Unavailable(e) => {
                    metrics::bypass(reason_of(&e));
                    bypass = true;
                }
            }
        }
        let value = match load().await {
            Ok(value) => value,
            Err(e) => {
                metrics::load("failed");
                lead.land(Landed::Failed);
                return Err(e);
            }
        };
        let (entry, ttl) = match &value {
            Some(value) => {
                metrics::load("value");
                (codec::encode(value), ttl.unwrap_or(self.inner.default_ttl))
            }
            None => {
                metrics::load("absent");
                (Ok(codec::ABSENT.to_vec()), self.inner.negative_ttl)
            }
        };
        match entry {
            Ok(entry) => {
                if !bypass {
                    // A failure is counted and logged by `run`; the value is served anyway.
                    let _ = self.write(&key, &entry, ttl).await;
                }
                lead.land(Landed::Entry(entry.into()));
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "the loaded value cannot be serialized to JSON; it is not cached");
                lead.land(Landed::Failed);
            }
        }
        Ok(value)
    }

    /// `GET key`, decoded as a `T`; `count` records the lookup's result.
    async fn lookup<T: DeserializeOwned>(&self, key: &str, count: bool) -> Found<T> {
        let mut command = redis::cmd("GET");
        command.arg(key);
        let outcome = self
            .inner
            .connection
            .run::<Option<Vec<u8>>>(Operation::Get, &command)
            .await;
        let (found, result) = match outcome {
            Ok(Some(entry)) => match codec::decode::<T>(&entry) {
                Stored::Value(value) => (Found::Value(value, entry), Lookup::Hit),
                Stored::Absent => (Found::Absent, Lookup::Hit),
                Stored::Undecodable => {
                    tracing::debug!(%key, "the cached entry does not decode as the type asked for: a miss");
                    (Found::Missing, Lookup::Miss)
                }
            },
            Ok(None) => (Found::Missing, Lookup::Miss),
            Err(e) => (Found::Unavailable(e), Lookup::Error),
        };
        if count {
            metrics::lookup(result);
        }
        found
    }

    /// `SET key entry PX ttl`.
    async fn write(&self, key: &str, entry: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(key).arg(entry).arg("PX").arg(millis);
        self.inner
            .connection
            .run::<()>(Operation::Set, &command)
            .await
    }
}
