//! Opening the pool: URL selection, the SQLite default, and retry while the database starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, SqlSafeStr};

use super::rotation::Rotation;
use super::sql::to_question_marks;
use super::{DbError, DbKind, configured_url, redact_url};
use crate::config::DatabaseConfig;

/// A service's connection pool and the backend it talks to.
///
/// Queries are written with `$1, $2, ...` placeholders and passed through [`Database::sql`],
/// which rewrites them for MySQL, so one query text serves all three backends:
///
/// ```no_run
/// # async fn f(db: servicekit::db::Database) -> Result<(), sqlx::Error> {
/// let name: (String,) = sqlx::query_as(db.sql("SELECT name FROM students WHERE id = $1"))
///     .bind("42")
///     .fetch_one(db.pool())
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Database {
    pub(super) pool: AnyPool,
    pub(super) kind: DbKind,
    /// Credential rotation state shared by all clones (see `rotation.rs`).
    pub(super) rotation: Arc<Rotation>,
}

impl Database {
    /// The sqlx pool, for `fetch_one(db.pool())` and transactions (`db.pool().begin()`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The backend this pool talks to.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Prepares a query written with `$1, $2, ...` placeholders for this backend.
    ///
    /// # Panics
    /// If the placeholders are not `$1, $2, ...` in order, each once (MySQL binds by position);
    /// this is checked on every backend so the mistake shows up in development on SQLite. Inside
    /// a handler the panic becomes an opaque 500 and is logged.
    pub fn sql(&self, query: &'static str) -> sqlx::SqlStr {
        match (to_question_marks(query), self.kind) {
            (Err(e), _) => panic!("invalid query {query:?}: {e}"),
            (Ok(rewritten), DbKind::MySql) => sqlx::AssertSqlSafe(rewritten).into_sql_str(),
            (Ok(_), _) => query.into_sql_str(),
        }
    }

    /// Runs `SELECT 1` on a pooled connection: the readiness check.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let result = self.pool.execute("SELECT 1").await.map(|_| ());
        if let Err(e) = &result {
            // Refused credentials make the pool fetch its secrets again at once.
            self.rotation.observe(e);
        }
        result
    }

    /// Closes the pool, waiting for checked-out connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Opens the pool described by `config`, retrying with backoff for
    /// `database.startup_timeout` while the database is unreachable.
    pub async fn connect(config: &DatabaseConfig, service_name: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let url = resolve_url(config, service_name)?;
        let kind = DbKind::from_url(&url).map_err(DbError::Url)?;
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        let rotation = Arc::new(Rotation::default());
        loop {
            match options(config, kind, &rotation).connect(&url).await {
                Ok(pool) => {
                    tracing::info!(url = %redact_url(&url), backend = %kind, "database pool open");
                    return Ok(Self {
                        pool,
                        kind,
                        rotation,
                    });
                }
                Err(source) => {
                    let waited = started.elapsed();
                    if waited + backoff > config.startup_timeout {
                        return Err(DbError::Unreachable {
                            url: redact_url(&url),
                            waited,
                            source,
                        });
                    }
                    tracing::warn!(
                        url = %redact_url(&url),
                        error = %source,
                        retry_in = ?backoff,
                        "database not reachable yet"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

fn options(config: &DatabaseConfig, kind: DbKind, rotation: &Arc<Rotation>) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
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
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA busy_timeout = 5000").await?;
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
    match url.strip_prefix("mariadb:") {
        Some(rest) => format!("mysql:{rest}"),
        None => url.to_string(),
    }
}
