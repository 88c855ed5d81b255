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

use servicekit::db::{EmbeddedMigration, Migrations};

/// One table with a primary key, the same SQL on every backend.
static NOTES_SQL: &[EmbeddedMigration] = &[EmbeddedMigration {
    version: 1,
    description: "create notes",
    sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body VARCHAR(200) NOT NULL)",
}];

/// The migrations of the test services.
pub(crate) static NOTES: Migrations = Migrations::from_static(NOTES_SQL, NOTES_SQL, NOTES_SQL);
