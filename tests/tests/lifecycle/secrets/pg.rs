//! PostgreSQL roles for the secret tests, and the RDS-style JSON secret describing them.
//!
//! Roles are cluster-wide, so each test creates uniquely named ones and drops them when done
//! (after its database, which owns objects of theirs). The admin URL needs CREATEROLE.

use servicekit::testing::{POSTGRES_URL_VAR, TestDatabase};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};

const DEFAULT_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Uniquely named roles, dropped (on the server, not just the database) when this is dropped.
pub(crate) struct Roles {
    prefix: String,
    count: usize,
}

impl Roles {
    pub(crate) fn new() -> Self {
        Self {
            prefix: format!("sk_test_role_{}", uuid::Uuid::new_v4().simple()),
            count: 0,
        }
    }

    /// A new role name (created by [`create_role`]).
    pub(crate) fn name(&mut self) -> String {
        self.count += 1;
        format!("{}_{}", self.prefix, self.count)
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let names: Vec<String> = (1..=self.count)
            .map(|i| format!("{}_{i}", self.prefix))
            .collect();
        let admin = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_ADMIN.into());
        // The test's runtime cannot be blocked on; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(pool) = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin)
                    .await
                {
                    for name in names {
                        let _ = pool
                            .execute(AssertSqlSafe(format!("DROP ROLE IF EXISTS {name}")))
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

/// A connection pool to the test database as its owner (the admin user).
pub(crate) async fn admin(db: &TestDatabase) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(db.url())
        .await
        .expect("admin connection to the test database")
}

/// Runs one statement as the admin.
pub(crate) async fn exec(admin: &PgPool, sql: String) {
    admin
        .execute(AssertSqlSafe(sql.clone()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Creates a login role with `password` that may create tables in the test database.
pub(crate) async fn create_role(admin: &PgPool, name: &str, password: &str) {
    exec(
        admin,
        format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
    )
    .await;
    exec(
        admin,
        format!("GRANT CREATE, USAGE ON SCHEMA public TO {name}"),
    )
    .await;
}

/// The JSON an RDS secret holds for `user` on the test database.
pub(crate) fn rds_secret(db: &TestDatabase, user: &str, password: &str) -> String {
    let url = reqwest::Url::parse(db.url()).expect("test database URL");
    serde_json::json!({
        "engine": "postgres",
        "host": url.host_str().expect("host"),
        "port": url.port().unwrap_or(5432),
        "username": user,
        "password": password,
        "dbname": db.name(),
    })
    .to_string()
}

/// The user names of the service's sessions on the test database (not the admin's).
pub(crate) async fn session_users(
    admin: &PgPool,
    db: &TestDatabase,
    users: &[&str],
) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT usename::text FROM pg_stat_activity WHERE datname = $1 AND usename::text = ANY($2)",
    )
    .bind(db.name())
    .bind(users)
    .fetch_all(admin)
    .await
    .expect("pg_stat_activity")
}
