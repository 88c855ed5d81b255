//! Migrations embedded in the service binary, one set per backend.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Database, DbError, DbKind};

/// One migration file, embedded at compile time by [`embed_migrations!`](crate::embed_migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    /// The version, from the file name's numeric prefix (`0001_create_students.sql` is 1).
    pub version: i64,
    /// The description, from the rest of the file name (`create students`).
    pub description: &'static str,
    /// The SQL to run.
    pub sql: &'static str,
}

/// A service's migrations for each backend, usually built by
/// [`embed_migrations!`](crate::embed_migrations) from `migrations/{sqlite,postgres,mysql}/`.
///
/// ```
/// use servicekit::db::{EmbeddedMigration, Migrations};
///
/// static CREATE: &[EmbeddedMigration] = &[EmbeddedMigration {
///     version: 1,
///     description: "create notes",
///     sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
/// }];
/// static MIGRATIONS: Migrations = Migrations::from_static(CREATE, CREATE, CREATE);
/// assert_eq!(MIGRATIONS.for_kind(servicekit::db::DbKind::Postgres).len(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrations {
    sqlite: &'static [EmbeddedMigration],
    postgres: &'static [EmbeddedMigration],
    mysql: &'static [EmbeddedMigration],
}

impl Migrations {
    /// Migrations for SQLite, PostgreSQL and MySQL/MariaDB, in that order.
    pub const fn from_static(
        sqlite: &'static [EmbeddedMigration],
        postgres: &'static [EmbeddedMigration],
        mysql: &'static [EmbeddedMigration],
    ) -> Self {
        Self {
            sqlite,
            postgres,
            mysql,
        }
    }

    /// The migrations for one backend.
    pub fn for_kind(&self, kind: DbKind) -> &'static [EmbeddedMigration] {
        match kind {
            DbKind::Sqlite => self.sqlite,
            DbKind::Postgres => self.postgres,
            DbKind::MySql => self.mysql,
        }
    }

    /// Applies the migrations for `db`'s backend that have not run yet, under the backend's
    /// migration lock so that several starting instances do not race. Works on the portable
    /// and the typed pools alike.
    pub async fn run<DB: Backend>(&self, db: &Database<DB>) -> Result<(), DbError> {
        let kind = db.kind();
        let embedded = self.for_kind(kind);
        let any_backend_has_some =
            !(self.sqlite.is_empty() && self.postgres.is_empty() && self.mysql.is_empty());
        if embedded.is_empty() && any_backend_has_some {
            return Err(DbError::NoMigrationsFor(kind));
        }
        let migrations = embedded
            .iter()
            .map(|m| {
                Migration::new(
                    m.version,
                    m.description.into(),
                    MigrationType::Simple,
                    m.sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        DB::migrate(&migrator, db.pool())
            .await
            .map_err(|source| DbError::Migrate { kind, source })
    }
}
