// `migrations =` a `const` (promoted to `'static` when borrowed) and an `async fn`
// returning `Result<Router, E>` with the service's own error type.
use servicekit::db::Migrations;

const MIGRATIONS: Migrations = Migrations::from_static(&[], &[], &[]);

mod service {
    #[derive(Debug)]
    pub struct StartupError;

    impl std::fmt::Display for StartupError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("startup failed")
        }
    }

    impl std::error::Error for StartupError {}

    #[servicekit::microservice(name = "empty-service", migrations = super::MIGRATIONS)]
    async fn app(_ctx: servicekit::Context) -> Result<axum::Router, StartupError> {
        Ok(axum::Router::new())
    }

    const _: fn() -> std::process::ExitCode = main;
}

fn main() {}
