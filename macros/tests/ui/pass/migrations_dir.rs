// `migrations = "dir"` embeds the directory, relative to CARGO_MANIFEST_DIR, with
// `embed_migrations!`; the binary checks what `embed_migrations!` embedded.
use servicekit::db::{DbKind, EmbeddedMigration, Migrations};

mod service {
    #[servicekit::microservice(name = "notes-service", migrations = "tests/ui/migrations")]
    async fn app(_ctx: servicekit::Context) -> axum::Router {
        axum::Router::new()
    }

    const _: fn() -> std::process::ExitCode = main;
}

static MIGRATIONS: Migrations = servicekit::embed_migrations!("tests/ui/migrations");
const WITH_CRATE: Migrations =
    servicekit::embed_migrations!("tests/ui/migrations", crate = ::servicekit,);

fn summary(migrations: &[EmbeddedMigration]) -> Vec<(i64, &str, &str)> {
    migrations
        .iter()
        .map(|m| (m.version, m.description, m.sql.trim()))
        .collect()
}

fn main() {
    assert_eq!(
        summary(MIGRATIONS.for_kind(DbKind::Sqlite)),
        [
            (
                1,
                "create notes",
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
            ),
            (
                2,
                "add note title",
                "ALTER TABLE notes ADD COLUMN title TEXT;"
            ),
        ]
    );
    assert_eq!(
        summary(MIGRATIONS.for_kind(DbKind::Postgres)),
        [
            (
                1,
                "create notes",
                "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL);"
            ),
            (
                2,
                "add note title",
                "ALTER TABLE notes ADD COLUMN title TEXT;"
            ),
        ]
    );
    assert_eq!(
        summary(MIGRATIONS.for_kind(DbKind::MySql)),
        [
            (
                1,
                "create notes",
                "CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL);"
            ),
            (
                2,
                "add note title",
                "ALTER TABLE notes ADD COLUMN title VARCHAR(255);"
            ),
        ]
    );
    assert_eq!(MIGRATIONS, WITH_CRATE);
}
