//! The cached read path of `GET /students/{id}`.
//!
//! With `cache.url` set (`SERVICEKIT__CACHE__URL=redis://127.0.0.1:6379`), a read goes through
//! [`Cache::get_or_load`] under the key `student:<id>`, kept for `cache.default_ttl`; a missing
//! student is remembered for `cache.negative_ttl` (negative caching). `PUT` and `DELETE` remove
//! the key once their transaction has committed, so the next read loads the new row. Without
//! `cache.url` every read goes to the database, as before.
//!
//! Invalidation lives here, in the handlers, and not in an event consumer: the `student.*`
//! events are produced by this service, in the same requests that change the row, so the
//! handler is the first place that knows. A delete that fails (Redis down) is logged; the old
//! value then lives until its TTL, which bounds the staleness.

use servicekit::Context;
use servicekit::cache::Cache;
use servicekit::db::Database;

use crate::model::Student;
use crate::repo;

/// Reads students through the shared cache when there is one.
#[derive(Debug, Clone, Default)]
pub struct StudentCache {
    cache: Option<Cache>,
}

impl StudentCache {
    /// The service's cache if `cache.url` is set, else reads that always go to the database.
    pub fn from_context(ctx: &Context) -> Self {
        Self {
            cache: ctx.cache().ok(),
        }
    }

    /// The cache key of student `id` (stored as `<cache.prefix>:student:<id>`).
    pub fn key(id: &str) -> String {
        format!("student:{id}")
    }

    /// Student `id`, from the cache or else from `db` (and then cached). Redis being down or
    /// slow sends the read to the database; the only error is the database's.
    pub async fn get(&self, db: &Database, id: &str) -> Result<Option<Student>, sqlx::Error> {
        match &self.cache {
            Some(cache) => {
                cache
                    .get_or_load(&Self::key(id), None, || repo::get(db, id))
                    .await
            }
            None => repo::get(db, id).await,
        }
    }

    /// Forgets student `id`: call it after a committed change to the row.
    pub async fn invalidate(&self, id: &str) {
        let Some(cache) = &self.cache else { return };
        if let Err(error) = cache.delete(&Self::key(id)).await {
            tracing::warn!(%id, %error, "the cached student was not removed; it expires with its TTL");
        }
    }
}
