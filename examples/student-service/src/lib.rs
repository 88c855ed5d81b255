//! student-service: `/students` CRUD on its own database, built on servicekit. Every write
//! stages a `student.*` event in the outbox, in its own transaction ([`events`]); with
//! `events.url` set the relay publishes them (`SERVICEKIT__EVENTS__URL=nats://127.0.0.1:4222`).
//! With `cache.url` set, `GET /students/{id}` is served from Redis ([`cached`]).
//!
//! The library holds everything; `main.rs` is `#[servicekit::microservice(builder =
//! student_service::service)]`, so the binary runs the same [`service()`] that the integration
//! tests start with `TestApp`.

pub mod api;
pub mod cached;
pub mod events;
pub mod model;
pub mod repo;
pub mod validation;

use axum::Router;
use serde::Deserialize;
use servicekit::db::Migrations;
use servicekit::{BoxError, Context, Service, ServiceBuilder};

/// The service's name, as in logs, health bodies and the default SQLite file.
pub const NAME: &str = "student-service";

/// Migrations for SQLite, PostgreSQL and MySQL/MariaDB, embedded from `migrations/`.
pub static MIGRATIONS: Migrations = servicekit::embed_migrations!("migrations");

/// The `[app]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Page size of `GET /students` without `limit` (default 20).
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
///
/// Requests are authenticated when `[auth]` names an issuer (reads need `students:read`,
/// writes `students:write`); without it the service is open and logs a WARN at startup.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let settings: Settings = ctx.settings()?;
    if settings.default_page_size == 0 || settings.default_page_size > settings.max_page_size {
        return Err(format!(
            "app.default_page_size must be between 1 and app.max_page_size ({})",
            settings.max_page_size
        )
        .into());
    }
    let state = api::AppState {
        db: ctx.db()?,
        settings,
        events: ctx.events()?,
        cache: cached::StudentCache::from_context(&ctx),
    };
    let scopes = api::Scopes::from_context(&ctx);
    Ok(api::router(state, &scopes, ctx.auth(), ctx.rate_limit()))
}

/// The whole service as a builder: what `main` runs, what the tests start, for embedding.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .migrations(&MIGRATIONS)
        .openapi(api::openapi())
        .routes(app)
}
