//! Isolated databases on real servers, one per test.

use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor};

use crate::db::DbKind;

/// Environment variable with an admin URL of the PostgreSQL server used by tests.
pub const POSTGRES_URL_VAR: &str = "SERVICEKIT_TEST_POSTGRES_URL";
/// Environment variable with an admin URL of the MySQL/MariaDB server used by tests.
pub const MYSQL_URL_VAR: &str = "SERVICEKIT_TEST_MYSQL_URL";

#[cfg(feature = "postgres")]
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
#[cfg(feature = "mysql")]
const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306/mysql";

/// A fresh, uniquely named database on a real server, dropped when the value is dropped.
///
/// The server comes from `SERVICEKIT_TEST_POSTGRES_URL` / `SERVICEKIT_TEST_MYSQL_URL` (defaults:
/// the local servers with trust/empty-password auth). An unreachable server is an error, never a
/// skipped test.
#[derive(Debug)]
pub struct TestDatabase {
    kind: DbKind,
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new database on the test PostgreSQL server (feature `postgres`).
    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Result<Self, sqlx::Error> {
        let admin = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        Self::create(DbKind::Postgres, admin).await
    }

    /// A new database on the test MySQL/MariaDB server (feature `mysql`).
    #[cfg(feature = "mysql")]
    pub async fn mysql() -> Result<Self, sqlx::Error> {
        let admin = std::env::var(MYSQL_URL_VAR).unwrap_or_else(|_| DEFAULT_MYSQL.into());
        Self::create(DbKind::MySql, admin).await
    }

    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    async fn create(kind: DbKind, admin_url: String) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let name = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
        let admin = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url)
            .await
            .map_err(|e| {
                let var = match kind {
                    DbKind::MySql => MYSQL_URL_VAR,
                    _ => POSTGRES_URL_VAR,
                };
                sqlx::Error::Configuration(
                    format!(
                        "test {kind} server at {} unreachable ({e}); start it or set {var}",
                        crate::db::redact_url(&admin_url)
                    )
                    .into(),
                )
            })?;
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        admin.close().await;
        let mut url =
            url::Url::parse(&admin_url).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            kind,
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// The URL of the new database, for `database.url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let drop_sql = match self.kind {
            DbKind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        // Drop runs inside the test's runtime, which cannot be blocked on; use a thread with a
        // runtime of its own.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_url)
                    .await
                {
                    let _ = admin.execute(AssertSqlSafe(drop_sql)).await;
                    admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}
