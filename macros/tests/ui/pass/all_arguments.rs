// Every argument, in another order than the docs', with a trailing comma; the
// migrations are a path to a `static` elsewhere in the crate.
mod db {
    use servicekit::db::{EmbeddedMigration, Migrations};

    static CREATE: &[EmbeddedMigration] = &[EmbeddedMigration {
        version: 1,
        description: "create notes",
        sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
    }];

    pub static MIGRATIONS: Migrations = Migrations::from_static(CREATE, CREATE, CREATE);
}

mod service {
    #[servicekit::microservice(
        migrations = crate::db::MIGRATIONS,
        crate = "servicekit",
        name = "notes-service",
    )]
    async fn app(_ctx: servicekit::Context) -> axum::Router {
        axum::Router::new()
    }

    const _: fn() -> std::process::ExitCode = main;
}

fn main() {}
