//! Typed database pools (`Database<sqlx::Postgres>` and friends), transactions and constraint
//! violations, on SQLite and on real PostgreSQL and MariaDB servers.
//!
//! `native_types.rs` uses sqlx's checked macros; they build from the offline data committed in
//! `framework/.sqlx/`. After changing one of their queries (or `events.sql`), run
//! `scripts/sqlx-prepare` and commit the folder.

mod constraints;
mod native_types;
mod outage;
mod transactions;
mod typed;

use std::future::Future;

use secrecy::SecretString;
use servicekit::db::{Database, DatabaseConfig, EmbeddedMigration, Migrations};
use servicekit::testing::TestDatabase;

/// One table with a primary key, the same SQL on every backend.
static NOTES_SQL: &[EmbeddedMigration] = &[EmbeddedMigration {
    version: 1,
    description: "create notes",
    sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body VARCHAR(200) NOT NULL)",
}];

/// The migrations of the test services.
pub(crate) static NOTES: Migrations = Migrations::from_static(NOTES_SQL, NOTES_SQL, NOTES_SQL);

/// The pool settings of these tests: `url`, everything else default.
pub(crate) fn config(url: &str) -> DatabaseConfig {
    DatabaseConfig {
        url: Some(SecretString::from(url)),
        ..Default::default()
    }
}

/// Runs `check` on a portable pool of each backend in turn: a fresh SQLite file, a fresh
/// PostgreSQL database and a fresh MariaDB database.
pub(crate) async fn on_every_backend<F, Fut>(check: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("test.db").display());
    check(Database::connect(&config(&sqlite), "svc").await.unwrap()).await;
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    check(Database::connect(&config(pg.url()), "svc").await.unwrap()).await;
    let my = TestDatabase::mysql().await.expect("test MariaDB");
    check(Database::connect(&config(my.url()), "svc").await.unwrap()).await;
}
