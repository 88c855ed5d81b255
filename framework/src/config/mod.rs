//! Layered configuration with errors that name the key, its origin and the fix.
//!
//! This module loads, layers and aggregates; it defines no section but `[service]`. Each concern
//! owns its section and the rules serde cannot express: [`server::ServerConfig`](crate::server::ServerConfig),
//! [`db::DatabaseConfig`](crate::db::DatabaseConfig), [`health::HealthConfig`](crate::health::HealthConfig),
//! [`telemetry::LogConfig`](crate::telemetry::LogConfig) and
//! [`telemetry::TelemetryConfig`](crate::telemetry::TelemetryConfig),
//! [`openapi::OpenApiConfig`](crate::openapi::OpenApiConfig), [`auth::AuthConfig`](crate::auth::AuthConfig),
//! [`client::ClientConfig`](crate::client::ClientConfig),
//! [`secrets::SecretsConfig`](crate::secrets::SecretsConfig),
//! [`cache::CacheConfig`](crate::cache::CacheConfig) and
//! [`server::RateLimitConfig`](crate::server::RateLimitConfig). [`Config`] gathers them; loading
//! runs every concern's checks plus the ones that span sections (no two operational endpoints on
//! one path, no setting that needs a cargo feature this build leaves out), and reports each
//! broken rule as a [`ConfigProblem`] with its key, origin and fix. The sections are re-exported
//! here too (`config::ServerConfig`, ...). Concerns never import this module.
//!
//! Sources, lowest precedence first:
//! 1. built-in defaults (the `Default` impls of the sections), then defaults set in code
//!    with [`ServiceBuilder::default_value`](crate::ServiceBuilder::default_value);
//! 2. `config/default.toml` (the folder can be moved with `SERVICEKIT_CONFIG_DIR`);
//! 3. `config/{env}.toml`, where `env` is `SERVICEKIT_ENV` (default `dev`);
//! 4. the conventional variables `PORT`, `DATABASE_URL`, `RUST_LOG`, `SERVICEKIT_ENV`,
//!    `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`;
//! 5. `SERVICEKIT__SECTION__KEY` variables, e.g. `SERVICEKIT__SERVER__PORT=9000`;
//! 6. values set in code with [`ServiceBuilder::set`](crate::ServiceBuilder::set).
//!
//! Downstream services are configured in `[clients.<name>]` tables
//! ([`ClientConfig`](crate::client::ClientConfig)).
//! Any string value may be a secret reference (`env://NAME`, `file:///run/secrets/x`,
//! `aws-sm://prod/student-db#password`), resolved when the configuration loads; see
//! [`secrets`](crate::secrets). The effective configuration is logged once at startup, with
//! secrets shown as `[redacted]` and their reference.
//!
//! The service's own settings live in the `[app]` section and are read with
//! [`Context::settings`](crate::Context::settings).

mod env;
mod error;
mod features;
#[cfg(test)]
mod fixes;
#[cfg(feature = "fuzzing")]
mod fuzz;
mod loader;
mod model;
mod report;
mod resolve;
mod walk;

pub use error::{ConfigError, ConfigProblem};
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use fuzz::fuzz_load_toml;
pub use loader::CONFIG_DIR_VAR;
pub use model::{Config, ServiceConfig};

// The sections each concern defines, re-exported where they were first published.
#[doc(no_inline)]
pub use crate::db::DatabaseConfig;
#[doc(no_inline)]
pub use crate::health::HealthConfig;
#[doc(no_inline)]
pub use crate::openapi::OpenApiConfig;
#[doc(no_inline)]
pub use crate::server::ServerConfig;
#[doc(no_inline)]
pub use crate::telemetry::{LogConfig, LogFormat, OtlpProtocol, TelemetryConfig};

pub(crate) use loader::{Loaded, Sources};
pub(crate) use report::report;
pub(crate) use resolve::load;
