//! # servicekit
//!
//! A framework for Rust microservices on axum, tower and sqlx: one attribute gives a service
//! layered configuration, logging, a database pool with migrations, health probes, problem+json
//! errors, a standard middleware stack and graceful, readiness-first shutdown.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//!
//! #[servicekit::microservice(name = "hello-service")]
//! async fn app(_ctx: servicekit::Context) -> Router {
//!     Router::new().route("/hello", get(|| async { "hello" }))
//! }
//! ```
//!
//! The attribute is sugar for the builder, which is the real API:
//!
//! ```no_run
//! # use axum::Router;
//! # async fn app(_ctx: servicekit::Context) -> Router { Router::new() }
//! fn main() -> std::process::ExitCode {
//!     servicekit::Service::builder("hello-service")
//!         .version(env!("CARGO_PKG_VERSION"))
//!         .routes(app)
//!         .run_main()
//! }
//! ```
//!
//! ## Layout
//! - [`service`]: the builder, the [`Context`] handed to the route function, the lifecycle;
//! - [`auth`]: JWT verification (JWKS, OIDC discovery), scopes and roles, outgoing tokens;
//! - [`cache`]: the shared Redis cache, typed cache-aside with single-flight (feature `cache`;
//!   see `docs/cache.md`);
//! - [`client`]: [`ServiceClient`](client::ServiceClient), resilient calls to other services
//!   (deadline, retry with budget, circuit breaker, bulkhead, discovery);
//! - [`config`]: layered configuration and errors that name the key, its origin and the fix;
//! - [`secrets`]: secret references (`env://`, `file://`, `aws-sm://`), cache, refresh, [`secrets::Secret`];
//! - [`db`]: the per-service pool (SQLite by default, PostgreSQL, MySQL/MariaDB) and migrations;
//! - [`events`]: CloudEvents through a transactional outbox, consumers with an inbox (NATS
//!   JetStream, RabbitMQ, SNS/SQS; see `docs/events.md`);
//! - [`health`]: liveness, readiness (with checks) and startup probes;
//! - [`server`]: problem+json errors, the middleware stack, shutdown signals;
//! - [`telemetry`]: the `tracing` subscriber;
//! - `openapi` (feature): the service's OpenAPI 3.1 document, completed and served;
//! - `testing` (feature): `TestApp`, `TestDatabase` and `TestIssuer` for integration tests.
//!
//! [`docs/architecture.md`](https://github.com/servicekit/servicekit/blob/main/docs/architecture.md) describes the request flow and the lifecycle in full.
//!
//! ## Cargo features
//! The defaults, `macros` and `sqlite`, give a service on embedded SQLite. The rest pull in large
//! dependency trees and are enabled where used:
//!
//! | feature | adds |
//! |---|---|
//! | `macros` (default) | `#[microservice]` and `embed_migrations!` |
//! | `sqlite` (default) | the SQLite driver, also used for the default file when `database.url` is unset |
//! | `postgres` | the PostgreSQL driver (`postgres://`) |
//! | `mysql` | the MySQL/MariaDB driver (`mysql://`, `mariadb://`) |
//! | `aws` | `aws-sm://` secret references, `secrets::aws` (AWS SDK) |
//! | `otlp` | trace export to an OTLP collector, http/protobuf or gRPC (tonic) |
//! | `rate-limit` | `[rate_limit]` with `Context::rate_limit` and `server::RateLimitLayer` (governor); with `cache`, limits shared by the replicas in Redis (`rate_limit.store = "redis"`) |
//! | `openapi` | the served OpenAPI 3.1 document |
//! | `events-nats` | [`events`] on NATS JetStream (async-nats) |
//! | `events-amqp` | [`events`] on RabbitMQ / AMQP 0.9.1 (lapin) |
//! | `events-aws` | [`events`] on Amazon SNS + SQS (AWS SDK) |
//! | `cache` | `[cache]` and `Context::cache`: the shared Redis / Valkey / ElastiCache cache (`redis`), `redis://` and `rediss://` |
//! | `tls` | `[server.tls]`: TLS and mutual TLS with rustls, `tls::PeerIdentity`, `tls::require_peer`, client certificates for `ServiceClient` |
//! | `testing` | `TestApp`, `TestDatabase`, `TestIssuer` (and `MotoServer` with `aws`) |
//!
//! Configuration that needs a feature this build leaves out (a `postgres://` URL without
//! `postgres`, an `aws-sm://` reference without `aws`, `telemetry.otlp_endpoint` without `otlp`,
//! `rate_limit.enabled = true` without `rate-limit`, `cache.url` without `cache`) stops startup with the key and the feature
//! to enable.

pub mod auth;
#[cfg(any(feature = "aws", feature = "events-aws"))]
mod aws_sdk;
pub mod cache;
pub mod client;
pub mod config;
pub mod db;
pub mod events;
mod features;
pub mod health;
mod invalid;
pub mod openapi;
pub mod prelude;
pub mod secrets;
pub mod server;
pub mod service;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

#[doc(inline)]
pub use server::{Json, Problem};
#[doc(inline)]
pub use service::{Context, Error, IntoRoutes, Service, ServiceBuilder};
#[cfg(feature = "macros")]
#[doc(inline)]
pub use servicekit_macros::{embed_migrations, microservice};

/// The boxed error type used at API boundaries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[doc(hidden)]
pub use axum;
