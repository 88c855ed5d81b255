//! The sqlx drivers a [`Database`](super::Database) can be opened with: the portable
//! [`sqlx::Any`] and the typed [`sqlx::Postgres`], [`sqlx::MySql`], [`sqlx::Sqlite`].
//!
//! The pool machinery (readiness, outage detection, rotation, metrics, transactions) is
//! generic over [`Backend`]. The few operations that need a concrete executor (running a
//! statement, migrating) are methods of this trait, implemented once per driver, so the
//! generic code carries one bound instead of sqlx's higher-ranked `Executor` bounds.

use futures_util::future::BoxFuture;
use sqlx::Pool;
use sqlx::migrate::{MigrateError, Migrator};

use super::DbKind;

mod sealed {
    /// Only servicekit implements [`Backend`](super::Backend).
    #[allow(unreachable_pub)] // the sealed-trait pattern: public, but not nameable outside
    pub trait Sealed {}
}

/// An sqlx driver a servicekit [`Database`](super::Database) can be opened with.
///
/// - [`sqlx::Any`] (the default, `Database` alone): the portable pool; `database.url` picks
///   SQLite, PostgreSQL or MySQL/MariaDB at startup.
/// - [`sqlx::Postgres`], [`sqlx::MySql`], [`sqlx::Sqlite`] (with servicekit's `postgres`,
///   `mysql`, `sqlite` features): the typed pool (`PgPool`, `MySqlPool`, `SqlitePool`), for
///   native column types and sqlx's checked macros; `database.url` must name that backend.
///
/// The trait is sealed: its hidden methods are servicekit's glue to each driver.
pub trait Backend: sqlx::Database + sealed::Sealed {
    /// The backend this driver talks to; `None` for [`sqlx::Any`], where the URL decides.
    const KIND: Option<DbKind>;
    /// The driver's name as code writes it (`sqlx::Postgres`), for error messages.
    const DRIVER: &'static str;

    /// Runs one statement on a connection and discards its result.
    #[doc(hidden)]
    fn run<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    /// The connection as `Any`, for code that runs statements on each concrete driver.
    #[doc(hidden)]
    fn connection_any(conn: &mut Self::Connection) -> &mut (dyn std::any::Any + Send);

    /// Applies `migrator` on `pool`.
    #[doc(hidden)]
    fn migrate<'a>(
        migrator: &'a Migrator,
        pool: &'a Pool<Self>,
    ) -> BoxFuture<'a, Result<(), MigrateError>>;
}

macro_rules! backend {
    ($(#[$cfg:meta])* $db:ty, $kind:expr, $name:literal) => {
        $(#[$cfg])*
        impl sealed::Sealed for $db {}

        $(#[$cfg])*
        impl Backend for $db {
            const KIND: Option<DbKind> = $kind;
            const DRIVER: &'static str = $name;

            fn run<'c>(
                conn: &'c mut Self::Connection,
                sql: &'static str,
            ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
                Box::pin(async move { sqlx::Executor::execute(conn, sql).await.map(|_| ()) })
            }

            fn connection_any(conn: &mut Self::Connection) -> &mut (dyn std::any::Any + Send) {
                conn
            }

            fn migrate<'a>(
                migrator: &'a Migrator,
                pool: &'a Pool<Self>,
            ) -> BoxFuture<'a, Result<(), MigrateError>> {
                Box::pin(migrator.run(pool))
            }
        }
    };
}

backend!(sqlx::Any, None, "sqlx::Any");
backend!(
    #[cfg(feature = "postgres")]
    sqlx::Postgres,
    Some(DbKind::Postgres),
    "sqlx::Postgres"
);
backend!(
    #[cfg(feature = "mysql")]
    sqlx::MySql,
    Some(DbKind::MySql),
    "sqlx::MySql"
);
backend!(
    #[cfg(feature = "sqlite")]
    sqlx::Sqlite,
    Some(DbKind::Sqlite),
    "sqlx::Sqlite"
);
