//! subject-service: `/subjects` CRUD on its own database, and enrolments that verify each
//! student through student-service with servicekit's resilient client. It consumes
//! student-service's `student.deleted` events and removes that student's enrolments
//! ([`events`]; `SERVICEKIT__EVENTS__URL=nats://127.0.0.1:4222`).
//!
//! The library holds everything; `main.rs` is `#[servicekit::microservice(builder =
//! subject_service::service)]`, so the binary runs the same [`service()`] that the integration
//! tests start with `TestApp`.

pub mod api;
pub mod events;
pub mod model;
pub mod repo;
pub mod students;
pub mod validation;

use axum::Router;
use serde::Deserialize;
use servicekit::db::Migrations;
use servicekit::{BoxError, Context, Service, ServiceBuilder};

/// The service's name, as in logs, health bodies and the default SQLite file.
pub const NAME: &str = "subject-service";

/// The `[clients.<name>]` table of the student-service client.
pub const STUDENT_SERVICE: &str = "student-service";

/// Port used when neither configuration nor `PORT` sets one (student-service has 8080).
pub const DEFAULT_PORT: u16 = 8081;

/// Where student-service is when nothing else is configured: `cargo run -p student-service`.
pub const DEFAULT_STUDENT_SERVICE_URL: &str = "http://127.0.0.1:8080";

/// Migrations for SQLite, PostgreSQL and MySQL/MariaDB, embedded from `migrations/`.
pub static MIGRATIONS: Migrations = servicekit::embed_migrations!("migrations");

/// The `[app]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Page size of `GET /subjects` without `limit` (default 20).
    pub default_page_size: u32,
    /// Largest accepted `limit` (default 100).
    pub max_page_size: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_page_size: 20,
            max_page_size: 100,
        }
    }
}

/// Builds the routes: called by servicekit once the database is migrated.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let settings: Settings = ctx.settings()?;
    if settings.default_page_size == 0 || settings.default_page_size > settings.max_page_size {
        return Err(format!(
            "app.default_page_size must be between 1 and app.max_page_size ({})",
            settings.max_page_size
        )
        .into());
    }
    // Calls to student-service carry a service token when `[auth.clients.student-service]`
    // configures client credentials; otherwise the caller's own token is forwarded
    // (`clients.student-service.forward_authorization`, on by default here).
    let mut client = ctx.client(STUDENT_SERVICE)?;
    if let Ok(token) = ctx.token_source(STUDENT_SERVICE) {
        client = client.with_token_source_arc(token);
    }
    let db = ctx.db()?;
    events::subscribe(&ctx.events()?, db.clone());
    let state = api::AppState {
        db,
        settings,
        students: students::Students::new(client),
    };
    let scopes = api::Scopes::from_context(&ctx);
    Ok(api::router(state, &scopes, ctx.auth(), ctx.rate_limit()))
}

/// The whole service as a builder, for `main`, tests and embedding.
///
/// Code defaults (overridden by configuration files and the environment): `server.port` 8081
/// and `clients.student-service.base_url` `http://127.0.0.1:8080`.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .migrations(&MIGRATIONS)
        .default_value("server.port", DEFAULT_PORT)
        .default_value(
            &format!("clients.{STUDENT_SERVICE}.base_url"),
            DEFAULT_STUDENT_SERVICE_URL,
        )
        .default_value(
            &format!("clients.{STUDENT_SERVICE}.forward_authorization"),
            true,
        )
        .openapi(api::openapi())
        .routes(app)
}
