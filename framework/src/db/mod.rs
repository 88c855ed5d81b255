//! Per-service database pools: SQLite by default, PostgreSQL and MySQL/MariaDB by URL.
//!
//! The portable pool, [`Database`], is an sqlx [`AnyPool`](sqlx::AnyPool) so one service binary
//! runs on any of the three backends chosen by `database.url`; [`Database::sql`] makes `$N`
//! placeholders portable and [`Migrations`] keeps one migration set per backend. A service
//! committed to one backend declares it and gets the typed pool, `Database<sqlx::Postgres>`
//! (`PgPool`), with native types and sqlx's checked macros; see [`Backend`]. Both run
//! [`Database::transaction`]. An unreachable database, or one that
//! refuses the credentials, is a 503 ([`is_unavailable`]); once the service knows the database
//! is down, queries fail at once until a background probe connects again ([`Database::pool`]).

mod backend;
mod check;
mod commit;
mod config;
mod credentials;
mod erased;
mod follow;
mod kind;
mod migrations;
mod outage;
mod pool;
mod rotation;
mod sql;
mod transaction;
mod unavailable;

use std::path::PathBuf;
use std::time::Duration;

pub use backend::Backend;
pub use commit::{CommitError, commit};
pub use config::DatabaseConfig;
pub use credentials::CredentialsError;
pub use kind::{DbKind, DriverNotCompiled, UnsupportedScheme, redact_url};
pub use migrations::{EmbeddedMigration, Migrations};
pub use pool::Database;
pub use sql::PlaceholderOrder;
pub use unavailable::{is_refused_credentials, is_unavailable};

pub(crate) use config::validate;
pub(crate) use credentials::configured_url;
pub(crate) use erased::{OpenDatabase, PoolStats};
pub(crate) use follow::{DbSecretRefs, follow_secrets};
pub(crate) use outage::report_request_error;

/// Opening the pool or migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `database.url` has a scheme servicekit does not know.
    #[error("database.url: {0}")]
    Url(#[source] UnsupportedScheme),
    /// The database (from `database.url`, `database.secret`, or the default SQLite file) needs a
    /// driver this build of servicekit leaves out; the message names the cargo feature.
    #[error("database.url: {0}")]
    NotCompiled(#[source] DriverNotCompiled),
    /// `database.url`, `database.password` and `database.secret` do not make a URL.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// New credentials were refused; the pool keeps using the current ones.
    #[error(
        "new database credentials for {url} rejected: {source}; the pool keeps the current ones"
    )]
    Rotation {
        /// The new URL, password redacted.
        url: String,
        /// The connection error.
        source: sqlx::Error,
    },
    /// The folder for the default SQLite file could not be created.
    #[error("cannot create database.data_dir `{}`: {source}; fix: make it writable or set database.data_dir", dir.display())]
    DataDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database stayed unreachable for `database.startup_timeout`.
    #[error(
        "database {url} unreachable after {}: {source}; fix: start the database or correct database.url / DATABASE_URL (database.startup_timeout sets how long to retry)",
        humantime::format_duration(Duration::from_millis(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)))
    )]
    Unreachable {
        /// The URL, password redacted.
        url: String,
        /// How long startup retried.
        waited: Duration,
        /// The last connection error.
        source: sqlx::Error,
    },
    /// The backend the code declares (`ServiceBuilder::database::<sqlx::Postgres>()`) is not
    /// the one `database.url` points at.
    #[error(
        "database.url points at {url_kind} ({url}) but the service's code declares a {declared} database ({driver}); fix: set database.url / DATABASE_URL to a {declared} URL, or change ServiceBuilder::database::<{driver}>() in the code to the backend database.url names (or remove it for the portable pool)"
    )]
    BackendMismatch {
        /// The URL, password redacted (the default SQLite file when `database.url` is unset).
        url: String,
        /// The backend the URL names.
        url_kind: DbKind,
        /// The backend the code declares.
        declared: DbKind,
        /// The driver type the code names, e.g. `sqlx::Postgres`.
        driver: &'static str,
    },
    /// The service has migrations, but none for this backend.
    #[error("this service has no migrations for {0}; add migrations/{0}/ to the service")]
    NoMigrationsFor(DbKind),
    /// A migration failed.
    #[error("{kind} migration failed: {source}")]
    Migrate {
        /// The backend.
        kind: DbKind,
        /// sqlx's error.
        source: sqlx::migrate::MigrateError,
    },
}
