//! gateway: the edge in front of student-service and subject-service, built with servicekit.
//!
//! - **Routing** ([`table`]): path prefix -> upstream, from `[app.routes]`; each upstream is a
//!   servicekit [`ServiceClient`](servicekit::client::ServiceClient) named after the service,
//!   so `[clients.<name>]` (or `SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL`) points a
//!   route elsewhere, with the client's retries, breaker, discovery and deadlines.
//! - **Streaming proxy** ([`proxy`], [`headers`]): bodies stream both ways
//!   ([`ServiceClient::forward`](servicekit::client::ServiceClient::forward)); hop-by-hop
//!   headers are removed, `X-Forwarded-*` and `Forwarded` set; the request id and the W3C
//!   trace started by the framework's stack go on to the upstream.
//! - **At the edge**: JWT verification (`ctx.auth()`; the services verify again), per-client
//!   rate limits (`ctx.rate_limit()`), CORS ([`cors`]), the framework's body limit and
//!   timeout, and a `/health/ready` that reports every upstream ([`health`]).
//! - **Releases** ([`release`]): a canary per upstream with a weight, sticky by cookie or by
//!   client, forced with `x-canary: always|never`; blue/green by editing `app.routes_file`,
//!   reloaded without a restart ([`reload`]).
//!
//! `main.rs` is `#[servicekit::microservice(builder = gateway::service)]`: the binary runs the
//! same [`service()`] the tests start. See `docs/gateway.md`.

pub mod cors;
pub mod error;
pub mod headers;
pub mod health;
pub mod proxy;
pub mod release;
pub mod reload;
pub mod settings;
pub mod table;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use servicekit::{BoxError, Context, Service, ServiceBuilder};

use crate::proxy::Proxy;
use crate::settings::Settings;
use crate::table::{Clients, RouteTable};

/// The service's name, as in logs, health bodies and metrics.
pub const NAME: &str = "gateway";

/// Port used when neither configuration nor `PORT` sets one (the services have 8080 and 8081).
pub const DEFAULT_PORT: u16 = 8000;

/// The client (and upstream) name of student-service.
pub const STUDENT_SERVICE: &str = "student-service";
/// The client (and upstream) name of subject-service.
pub const SUBJECT_SERVICE: &str = "subject-service";

/// Where student-service is when nothing else is configured: `cargo run -p student-service`.
pub const DEFAULT_STUDENT_SERVICE_URL: &str = "http://127.0.0.1:8080";
/// Where subject-service is when nothing else is configured: `cargo run -p subject-service`.
pub const DEFAULT_SUBJECT_SERVICE_URL: &str = "http://127.0.0.1:8081";

/// Builds the routes: called by servicekit at startup.
///
/// Every `[clients.<name>]` table becomes a client (so a reload can route to any of them) and
/// a readiness check; the route table is built from `[app]`, or from `app.routes_file` when
/// set, which is then watched.
pub async fn app(ctx: Context) -> Result<Router, BoxError> {
    let settings: Settings = ctx.settings()?;
    let mut clients = Clients::default();
    for name in ctx.config().clients.keys() {
        let client = ctx.client(name)?;
        ctx.health()
            .register(health::UpstreamCheck::new(client.clone()));
        clients.insert(name, client);
    }
    let table = match &settings.routes_file {
        Some(path) => reload::load(path, &clients)?,
        None => RouteTable::build(&settings.table(), &clients, "app")?,
    };
    let table = Arc::new(ArcSwap::from_pointee(table));
    if let Some(path) = &settings.routes_file {
        reload::spawn(&table, path.clone(), settings.reload_interval, clients);
    }
    let proxy = Proxy {
        table,
        proto: if ctx.config().server.tls.is_some() {
            "https"
        } else {
            "http"
        },
    };
    let mut router = Router::new()
        .fallback(proxy::forward)
        .with_state(proxy)
        .layer(ctx.rate_limit())
        .layer(ctx.auth());
    if let Some(cors) = cors::layer(&settings.cors)? {
        router = router.layer(cors);
    }
    Ok(router)
}

/// The whole gateway as a builder, for `main`, tests and embedding.
///
/// Code defaults (overridden by configuration files and the environment): `server.port` 8000,
/// `clients.student-service.base_url` `http://127.0.0.1:8080` and
/// `clients.subject-service.base_url` `http://127.0.0.1:8081`.
pub fn service() -> ServiceBuilder {
    Service::builder(NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .default_value("server.port", DEFAULT_PORT)
        .default_value(
            &format!("clients.{STUDENT_SERVICE}.base_url"),
            DEFAULT_STUDENT_SERVICE_URL,
        )
        .default_value(
            &format!("clients.{SUBJECT_SERVICE}.base_url"),
            DEFAULT_SUBJECT_SERVICE_URL,
        )
        .routes(app)
}
