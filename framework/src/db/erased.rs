//! A service's pool whatever its driver, for the parts of the service that do not query it:
//! the lifecycle (closing on shutdown), `/metrics` and the context (which hands it out typed).

use std::any::Any;

use futures_util::future::BoxFuture;

use super::{Backend, Database, DbKind};

/// The pool's size at a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Open connections.
    pub(crate) size: u32,
    /// Open connections not checked out.
    pub(crate) idle: u32,
    /// `database.max_connections`.
    pub(crate) max: u32,
}

/// A [`Database`] of any driver.
pub(crate) trait OpenDatabase: Send + Sync + 'static {
    /// The backend.
    fn kind(&self) -> DbKind;
    /// The driver type the service declared (`sqlx::Any` for the portable pool).
    fn driver(&self) -> &'static str;
    /// The pool's connections now.
    fn stats(&self) -> PoolStats;
    /// Closes the pool.
    fn close(&self) -> BoxFuture<'_, ()>;
    /// For downcasting to `Database<DB>`.
    fn as_any(&self) -> &dyn Any;
    /// The pool as the events runtime's outbox store.
    #[cfg(feature = "events")]
    fn events_store(&self) -> std::sync::Arc<dyn crate::events::Store>;
}

impl<DB: Backend> OpenDatabase for Database<DB> {
    fn kind(&self) -> DbKind {
        self.kind
    }

    fn driver(&self) -> &'static str {
        DB::DRIVER
    }

    fn stats(&self) -> PoolStats {
        // The real pool, also while the database is down (`pool()` is then a closed one).
        let size = self.pool.size();
        PoolStats {
            size,
            // `num_idle` is a usize count of at most `max_connections`, a u32.
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(size),
            max: self.pool.options().get_max_connections(),
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(Database::close(self))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    #[cfg(feature = "events")]
    fn events_store(&self) -> std::sync::Arc<dyn crate::events::Store> {
        std::sync::Arc::new(self.clone())
    }
}
