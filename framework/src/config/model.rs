//! The aggregate of the sections: each concern defines its own (`server::ServerConfig`,
//! `db::DatabaseConfig`, ...); only the service's identity, `[service]`, is defined here.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::db::DatabaseConfig;
use crate::health::HealthConfig;
use crate::openapi::OpenApiConfig;
use crate::server::ServerConfig;
use crate::telemetry::{LogConfig, TelemetryConfig};

/// The whole framework configuration, after layering and validation.
///
/// Each field is one section of the configuration files (`[server]`, `[database]`, ...);
/// [`docs/configuration.md`](https://github.com/servicekit/servicekit/blob/main/docs/configuration.md) lists every key, its environment variable and its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[service]`: the service's identity.
    #[serde(default)]
    pub service: ServiceConfig,
    /// `[server]`: the HTTP listener, request limits and shutdown timing.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[database]`: the connection pool and migrations.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `[health]`: probe paths and check timeouts.
    #[serde(default)]
    pub health: HealthConfig,
    /// `[log]`: log level and output format.
    #[serde(default)]
    pub log: LogConfig,
    /// `[telemetry]`: OpenTelemetry trace export and Prometheus metrics.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// `[clients.<name>]`: one table per downstream service, read with
    /// [`Context::client`](crate::Context::client).
    #[serde(default)]
    pub clients: BTreeMap<String, crate::client::ClientConfig>,
    /// `[auth]`: bearer token verification and outgoing token sources (see [`docs/auth.md`](https://github.com/servicekit/servicekit/blob/main/docs/auth.md)).
    #[serde(default)]
    pub auth: crate::auth::AuthConfig,
    /// `[secrets]`: refresh and staleness of referenced secrets, the AWS client.
    #[serde(default)]
    pub secrets: crate::secrets::SecretsConfig,
    /// `[openapi]`: where the service's OpenAPI document is served.
    #[serde(default)]
    pub openapi: OpenApiConfig,
    /// `[rate_limit]`: per-client request throttling, applied with
    /// `Context::rate_limit` (feature `rate-limit`; see [`docs/rate-limiting.md`](https://github.com/servicekit/servicekit/blob/main/docs/rate-limiting.md)).
    #[serde(default)]
    pub rate_limit: crate::server::RateLimitConfig,
    /// `[events]`: the message broker, the outbox relay and the consumers (see
    /// [`docs/events.md`](https://github.com/servicekit/servicekit/blob/main/docs/events.md)).
    #[serde(default)]
    pub events: crate::events::EventsConfig,
    /// `[cache]`: the shared Redis cache, read with `Context::cache` (feature `cache`; see
    /// [`docs/cache.md`](https://github.com/servicekit/servicekit/blob/main/docs/cache.md)).
    #[serde(default)]
    pub cache: crate::cache::CacheConfig,
    /// `[app]`: the service's own settings, read with [`Context::settings`](crate::Context::settings).
    #[serde(default)]
    pub app: serde_json::Value,
}

/// `[service]`: the service's identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service name used in logs, metrics, traces and the default SQLite file name
    /// (default: the builder's name).
    pub name: String,
    /// The deployment environment (`SERVICEKIT_ENV`, default `dev`); selects `config/{env}.toml`.
    pub environment: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            environment: "dev".into(),
        }
    }
}
