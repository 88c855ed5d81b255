//! Opening the pool: URL selection, the SQLite default, and retry while the database starts.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::pool::PoolOptions;
use sqlx::{Any, ConnectOptions, Connection, Pool, SqlSafeStr};

use super::DatabaseConfig;
use super::outage::{Outage, TripOnDrop};
use super::rotation::Rotation;
use super::sql::to_question_marks;
use super::{Backend, DbError, DbKind, configured_url, redact_url};

/// A service's connection pool and the backend it talks to.
///
/// `Database` alone is the **portable** pool (`Database<sqlx::Any>`, an [`AnyPool`](sqlx::AnyPool)):
/// `database.url` picks SQLite, PostgreSQL or MySQL/MariaDB at startup. Queries are written
/// with `$1, $2, ...` placeholders and passed through [`Database::sql`], which rewrites them
/// for MySQL, so one query text serves all three backends:
///
/// ```no_run
/// # async fn f(db: servicekit::db::Database) -> Result<(), sqlx::Error> {
/// let name: (String,) = sqlx::query_as(db.sql("SELECT name FROM students WHERE id = $1"))
///     .bind("42")
///     .fetch_one(db.pool())
///     .await?;
/// # Ok(()) }
/// ```
///
/// `Database<sqlx::Postgres>` (or `MySql`, `Sqlite`) is the **typed** pool: [`Database::pool`]
/// is a `PgPool`, so native column types (UUID, `timestamptz`, JSONB, arrays) and sqlx's
/// `query!` macros work. A service declares it with
/// [`ServiceBuilder::database`](crate::ServiceBuilder::database) and gets it from
/// [`Context::db_as`](crate::Context::db_as):
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # async fn f(db: servicekit::db::Database<sqlx::Postgres>) -> Result<(), sqlx::Error> {
/// let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM notes WHERE tags @> $1")
///     .bind(vec!["urgent".to_string()])
///     .fetch_all(db.pool())
///     .await?;
/// # Ok(()) }
/// ```
///
/// Both get the same care: readiness check, pool metrics, startup retry, migrations,
/// credential rotation, fast 503s while the database is down, closing on shutdown, and
/// [`Database::transaction`].
pub struct Database<DB: Backend = Any> {
    pub(super) pool: Pool<DB>,
    /// Handed out instead of `pool` while the database is down (see `outage.rs`).
    closed: Pool<DB>,
    pub(super) kind: DbKind,
    /// Credential rotation state shared by all clones (see `rotation.rs`).
    pub(super) rotation: Arc<Rotation>,
    /// Whether the database is known to be down (see `outage.rs`).
    pub(super) outage: Arc<Outage>,
}

// Not derived: a derive would require `DB: Clone` / `DB: Debug` of the driver marker type.
impl<DB: Backend> Clone for Database<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            closed: self.closed.clone(),
            kind: self.kind,
            rotation: Arc::clone(&self.rotation),
            outage: Arc::clone(&self.outage),
        }
    }
}

impl<DB: Backend> std::fmt::Debug for Database<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("driver", &DB::DRIVER)
            .field("kind", &self.kind)
            .field("pool", &self.pool)
            .field("down", &self.outage.is_down())
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> Database<DB> {
    /// The sqlx pool, for `fetch_one(db.pool())` and transactions (`db.pool().begin()`, or
    /// [`Database::transaction`]).
    ///
    /// While the database is known to be down (a connection attempt by the service failed and
    /// none has succeeded since), this is a closed pool: queries fail at once with
    /// [`sqlx::Error::PoolClosed`], which [`Problem`](crate::Problem) answers with 503, instead
    /// of waiting for `database.acquire_timeout`. Call `pool()` for each query rather than
    /// keeping a clone, so that requests see the database come back.
    pub fn pool(&self) -> &Pool<DB> {
        if self.outage.is_down() {
            &self.closed
        } else {
            &self.pool
        }
    }

    /// Whether the database is known to be down: a connection attempt failed (the reason is
    /// in the readiness check) and none has succeeded since. The service checks again in the
    /// background until one does.
    pub fn is_down(&self) -> bool {
        self.outage.is_down()
    }

    /// The backend this pool talks to.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Runs `SELECT 1` on a pooled connection: the readiness check.
    ///
    /// While the database is known to be down this answers at once with the reason. An error
    /// that says the database is unavailable, or a ping cancelled before it finished (by
    /// `health.check_timeout`), marks the database down (see [`Database::pool`]) until a
    /// connection succeeds, which the service tries in the background; refused credentials
    /// also make it fetch the database secrets again.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        if let Some(reason) = self.outage.reason() {
            return Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                format!("database unreachable: {reason}"),
            )));
        }
        let mut guard = TripOnDrop(Some(Arc::clone(&self.outage)));
        let result = async {
            let mut conn = self.pool.acquire().await?;
            DB::run(&mut conn, "SELECT 1").await
        }
        .await;
        guard.0 = None;
        if let Err(e) = &result {
            self.rotation.observe(e);
            if super::is_unavailable(e) {
                self.outage.trip(e.to_string());
            }
        }
        result
    }

    /// Closes the pool, waiting for checked-out connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Opens the pool described by `config` with driver `DB`, retrying with backoff for
    /// `database.startup_timeout` while the database is unreachable. For a typed driver, a
    /// `database.url` (or default SQLite file) of another backend is
    /// [`DbError::BackendMismatch`], before any connection is tried.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # async fn f(config: servicekit::db::DatabaseConfig) -> Result<(), servicekit::db::DbError> {
    /// use servicekit::db::Database;
    ///
    /// let db = Database::<sqlx::Postgres>::open(&config, "notes-service").await?;
    /// # let _ = db;
    /// # Ok(()) }
    /// ```
    pub async fn open(config: &DatabaseConfig, service_name: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let url = resolve_url(config, service_name)?;
        let kind = DbKind::from_url(&url).map_err(DbError::Url)?;
        if let Some(declared) = DB::KIND
            && declared != kind
        {
            return Err(DbError::BackendMismatch {
                url: redact_url(&url),
                url_kind: kind,
                declared,
                driver: DB::DRIVER,
            });
        }
        kind.ensure_compiled().map_err(DbError::NotCompiled)?;
        // A URL the driver cannot use is a configuration error; waiting will not fix it.
        let options = connect_options::<DB>(&url).map_err(|source| DbError::Unreachable {
            url: redact_url(&url),
            waited: Duration::ZERO,
            source,
        })?;
        wait_until_reachable::<DB>(&url, &options, config.startup_timeout).await?;
        let rotation = Arc::new(Rotation::default());
        let pool = pool_options::<DB>(config, kind, &rotation)
            .connect_with(options)
            .await
            .map_err(|source| DbError::Unreachable {
                url: redact_url(&url),
                waited: Duration::ZERO,
                source,
            })?;
        tracing::info!(url = %redact_url(&url), backend = %kind, driver = DB::DRIVER, "database pool open");
        let outage = Outage::register(&pool, &rotation);
        let closed = PoolOptions::<DB>::new()
            .max_connections(1)
            .connect_lazy_with((*pool.connect_options()).clone());
        // Marks the pool closed at once; there is nothing to wait for.
        drop(closed.close());
        Ok(Self {
            pool,
            closed,
            kind,
            rotation,
            outage,
        })
    }
}

impl Database {
    /// Opens the portable pool described by `config` (`Database::<sqlx::Any>::open`), retrying
    /// with backoff for `database.startup_timeout` while the database is unreachable.
    pub async fn connect(config: &DatabaseConfig, service_name: &str) -> Result<Self, DbError> {
        Self::open(config, service_name).await
    }

    /// Prepares a query written with `$1, $2, ...` placeholders for this backend.
    ///
    /// # Panics
    /// If the placeholders are not `$1, $2, ...` in order, each once (MySQL binds by position);
    /// this is checked on every backend so the mistake shows up in development on SQLite. Inside
    /// a handler the panic becomes an opaque 500 and is logged.
    pub fn sql(&self, query: &'static str) -> sqlx::SqlStr {
        match (to_question_marks(query, self.kind), self.kind) {
            (Err(e), _) => panic!("invalid query {query:?}: {e}"),
            (Ok(rewritten), DbKind::MySql) => sqlx::AssertSqlSafe(rewritten).into_sql_str(),
            (Ok(_), _) => query.into_sql_str(),
        }
    }
}

/// `url` parsed by driver `DB`.
pub(super) fn connect_options<DB: Backend>(
    url: &str,
) -> Result<<DB::Connection as Connection>::Options, sqlx::Error> {
    <DB::Connection as Connection>::Options::from_str(url)
}

/// Opens single connections, with backoff, until one succeeds or `budget` is spent. Each attempt
/// is bounded by the remaining budget, and the error reported is the database's own (a pool
/// would only say that it timed out).
async fn wait_until_reachable<DB: Backend>(
    url: &str,
    options: &<DB::Connection as Connection>::Options,
    budget: Duration,
) -> Result<(), DbError> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        let remaining = budget.saturating_sub(started.elapsed());
        let attempt = tokio::time::timeout(remaining.max(Duration::from_millis(100)), async {
            let conn = options.connect().await?;
            conn.close().await
        })
        .await;
        let source = match attempt {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the connection attempt timed out",
            )),
        };
        let waited = started.elapsed();
        // A URL sqlx cannot use will not get better by waiting.
        let permanent = matches!(source, sqlx::Error::Configuration(_));
        if permanent || waited >= budget {
            return Err(DbError::Unreachable {
                url: redact_url(url),
                waited,
                source,
            });
        }
        tracing::warn!(
            url = %redact_url(url),
            error = %source,
            retry_in = ?backoff,
            "database not reachable yet"
        );
        // The last wait is cut to what is left of the budget, then one more attempt is made.
        tokio::time::sleep(backoff.min(budget - waited)).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

fn pool_options<DB: Backend>(
    config: &DatabaseConfig,
    kind: DbKind,
    rotation: &Arc<Rotation>,
) -> PoolOptions<DB> {
    let options = PoolOptions::<DB>::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(Some(config.idle_timeout));
    let options = rotation.install(options);
    if kind != DbKind::Sqlite {
        return options;
    }
    // WAL lets readers proceed while one connection writes; without it a busy SQLite file
    // answers "database is locked" under concurrent requests.
    options.after_connect(|conn, _meta| {
        Box::pin(async move {
            DB::run(conn, "PRAGMA journal_mode = WAL").await?;
            DB::run(conn, "PRAGMA busy_timeout = 5000").await?;
            Ok(())
        })
    })
}

/// The configured URL, or the default SQLite file (whose folder is created).
fn resolve_url(config: &DatabaseConfig, service_name: &str) -> Result<String, DbError> {
    if let Some(url) = configured_url(config)? {
        return Ok(for_sqlx(url.expose_secret()));
    }
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir {
        dir: dir.clone(),
        source,
    })?;
    let file = dir.join(format!("{service_name}.db"));
    Ok(format!("sqlite://{}?mode=rwc", file.display()))
}

/// `url` as sqlx wants it: sqlx knows MariaDB as MySQL.
pub(super) fn for_sqlx(url: &str) -> String {
    // SQLite creates a missing file only in `rwc` mode, as users of embedded databases expect.
    let sqlite_without_mode = DbKind::from_url(url) == Ok(DbKind::Sqlite)
        && !url.contains("mode=")
        && !url.contains(":memory:");
    if sqlite_without_mode {
        let sep = if url.contains('?') { '&' } else { '?' };
        return format!("{url}{sep}mode=rwc");
    }
    url.to_string()
}
