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
    /// The workloads allowed to call `/students` over mutual TLS: SAN URIs (SPIFFE IDs such as
    /// `spiffe://school/subject-service`) or DNS names their client certificate must name
    /// (default none: every client the CA of `server.tls.client_ca_file` signed). Setting it
    /// needs mutual TLS (`server.tls.client_ca_file`); others get 403 problem+json.
    pub allowed_peers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_page_size: 20,
            max_page_size: 100,
            allowed_peers: Vec::new(),
        }
    }
}

impl Settings {
    /// Checks the rules serde cannot express; `mutual_tls` says whether the service asks its
    /// clients for certificates (`server.tls.client_ca_file` is set).
    pub fn validate(&self, mutual_tls: bool) -> Result<(), String> {
        if self.default_page_size == 0 || self.default_page_size > self.max_page_size {
            return Err(format!(
                "app.default_page_size must be between 1 and app.max_page_size ({})",
                self.max_page_size
            ));
        }
        if !self.allowed_peers.is_empty() && !mutual_tls {
            return Err("app.allowed_peers needs mutual TLS, which is off: set \
                 server.tls.client_ca_file (SERVICEKIT__SERVER__TLS__CLIENT_CA_FILE) with \
                 server.tls.cert_file and server.tls.key_file, or remove app.allowed_peers"
                .into());
        }
        if let Some(blank) = self.allowed_peers.iter().find(|p| p.trim().is_empty()) {
            return Err(format!(
                "app.allowed_peers holds an empty name ({blank:?}): list SAN URIs such as \
                 `spiffe://school/subject-service` or DNS names"
            ));
        }
        Ok(())
    }
}

/// Builds the routes: called by servicekit once the database is migrated.
///
/// Requests are authenticated when `[auth]` names an issuer (reads need `students:read`,
/// writes `students:write`); without it the service is open and logs a WARN at startup. With
/// mutual TLS and `app.allowed_peers`, only the workloads named there reach `/students`.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let settings: Settings = ctx.settings()?;
    let mutual_tls = ctx
        .config()
        .server
        .tls
        .as_ref()
        .is_some_and(|tls| tls.client_ca_file.is_some());
    settings.validate(mutual_tls)?;
    let peers = settings.allowed_peers.clone();
    let state = api::AppState {
        db: ctx.db()?,
        settings,
        events: ctx.events()?,
        cache: cached::StudentCache::from_context(&ctx),
    };
    let scopes = api::Scopes::from_context(&ctx);
    let router = api::router(state, &scopes, ctx.auth(), ctx.rate_limit());
    if peers.is_empty() {
        return Ok(router);
    }
    tracing::info!(allowed_peers = ?peers, "/students answers only these mutual-TLS peers");
    // Outermost: a workload that may not call at all is refused before its token is checked.
    Ok(router.layer(servicekit::tls::require_peer(peers)))
}

/// The whole service as a builder: what `main` runs, what the tests start, for embedding.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .migrations(&MIGRATIONS)
        .openapi(api::openapi())
        .routes(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_peers_need_mutual_tls_and_names() {
        let peers = |names: &[&str]| Settings {
            allowed_peers: names.iter().map(|n| (*n).to_string()).collect(),
            ..Settings::default()
        };
        assert_eq!(Settings::default().validate(false), Ok(()));
        let subject = peers(&["spiffe://school/subject-service"]);
        assert_eq!(subject.validate(true), Ok(()));
        let err = subject.validate(false).unwrap_err();
        assert!(err.contains("server.tls.client_ca_file"), "{err}");
        let err = peers(&[" "]).validate(true).unwrap_err();
        assert!(err.contains("app.allowed_peers"), "{err}");
    }
}
