//! The typed configuration sections every service shares.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

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

/// `[server]`: the HTTP listener, request limits and shutdown timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Interface to bind (default `0.0.0.0`).
    pub host: String,
    /// Port to bind (default `8080`; `PORT` sets it too; `0` picks a free port).
    pub port: u16,
    /// Longest a request may take before it is answered with 503, or 408 while the client is
    /// still sending its body (default `30s`); it also caps a caller's deadline.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (default 1 MiB); larger bodies get 413.
    pub body_limit: usize,
    /// After SIGTERM, how long readiness reports 503 while requests are still served, so that
    /// load balancers stop routing here (default `5s`; skipped on SIGINT).
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// After the drain delay, how long in-flight requests may take to finish (default `30s`).
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// A second port for the operational endpoints (health probes, `/metrics`); unset (the
    /// default) serves them on the main port.
    pub admin_port: Option<u16>,
    /// Longest a new connection may take to send its first complete request head, counted
    /// from its accept; slower or silent connections are closed (default `10s`).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Longest a kept-alive HTTP/1 connection may wait for its next request and take to send
    /// its head, counted from the end of the previous response (default `75s`: longer than the
    /// 60 s idle timeout of AWS load balancers, so the balancer closes idle connections first
    /// and never sends a request on one the service is closing).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most connections served at once, per listener; further ones wait in the listen backlog
    /// until one closes (default `10000`; `0` means no limit).
    pub max_connections: usize,
    /// Addresses or CIDR ranges (e.g. `["10.0.0.0/8"]`) of peers whose `x-request-deadline-ms`
    /// is honoured as sent (default: none). List the networks of your own services, never
    /// that of a load balancer that forwards outside clients.
    pub deadline_trusted_networks: Vec<String>,
    /// Whether a caller whose verified token is a service (client credentials) token may set
    /// `x-request-deadline-ms` (default `true`); see `Principal::is_service`.
    pub deadline_trust_service_tokens: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
            drain_delay: crate::server::DEFAULT_DRAIN_DELAY,
            shutdown_timeout: crate::server::DEFAULT_SHUTDOWN_TIMEOUT,
            admin_port: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 10_000,
            deadline_trusted_networks: Vec::new(),
            deadline_trust_service_tokens: true,
        }
    }
}

/// `[database]`: the connection pool and migrations.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database URL (`DATABASE_URL` sets it too): `postgres://`, `mysql://`, `mariadb://` or
    /// `sqlite://`. Unset means an SQLite file `{data_dir}/{service name}.db`.
    pub url: Option<SecretString>,
    /// Replaces the password of `database.url`, usually a secret reference such as
    /// `aws-sm://prod/student-db#password`.
    pub password: Option<SecretString>,
    /// A JSON secret as RDS and the AWS rotation functions write it (`engine`, `host`, `port`,
    /// `username`, `password`, `dbname`), usually `aws-sm://prod/student-db`; the URL is built
    /// from it and follows its rotation. Excludes `database.url`.
    pub secret: Option<SecretString>,
    /// Folder for the default SQLite file, created if missing (default `data`).
    pub data_dir: PathBuf,
    /// Largest number of pooled connections (default `10`).
    pub max_connections: u32,
    /// Connections kept open when idle (default `0`).
    pub min_connections: u32,
    /// Longest wait for a free connection before a request fails with 503 (default `5s`).
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this long (default `10m`).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// How long startup keeps retrying an unreachable database before it gives up (default `30s`).
    #[serde(with = "humantime_serde")]
    pub startup_timeout: Duration,
    /// Run the service's embedded migrations at startup (default `true`).
    pub migrate: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            password: None,
            secret: None,
            data_dir: PathBuf::from("data"),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            startup_timeout: Duration::from_secs(30),
            migrate: true,
        }
    }
}

/// `[health]`: probe paths and check timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Liveness path (default `/health/live`); never checks dependencies.
    pub live_path: String,
    /// Readiness path (default `/health/ready`); runs the registered checks.
    pub ready_path: String,
    /// Startup path (default `/health/startup`); 503 until migrations and startup are done.
    pub startup_path: String,
    /// Longest a single readiness check may take before it counts as failed (default `2s`).
    #[serde(with = "humantime_serde")]
    pub check_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            live_path: "/health/live".into(),
            ready_path: "/health/ready".into(),
            startup_path: "/health/startup".into(),
            check_timeout: Duration::from_secs(2),
        }
    }
}

/// `[openapi]`: where the OpenAPI document registered with `ServiceBuilder::openapi` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenApiConfig {
    /// Path of the JSON document on the main port (default `/openapi.json`).
    pub path: String,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        Self {
            path: "/openapi.json".into(),
        }
    }
}

/// `[log]`: log level and output format.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `info,sqlx=warn` (`RUST_LOG` sets it too).
    pub level: String,
    /// `pretty`, `compact` or `json`; `auto` (the default) is `pretty` in the `dev` and `test`
    /// environments and `json` elsewhere.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `pretty` in the `dev` and `test` environments, `json` elsewhere.
    Auto,
    /// Multi-line, coloured, for people.
    Pretty,
    /// One line per event, for people.
    Compact,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// `[telemetry]`: OpenTelemetry trace export and Prometheus metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Export traces when an OTLP endpoint is configured (default `true`).
    pub traces: bool,
    /// OTLP collector endpoint, e.g. `http://otel-collector:4318` for http/protobuf or
    /// `http://otel-collector:4317` for grpc (`OTEL_EXPORTER_OTLP_ENDPOINT` sets it too).
    /// Unset: no trace export.
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` (default) or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL` sets it too).
    pub otlp_protocol: OtlpProtocol,
    /// Fraction of new traces to sample, 0.0 to 1.0, respecting the caller's decision
    /// (parent-based). Unset: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else always.
    pub sample_ratio: Option<f64>,
    /// Static resource attributes added to every span, e.g. `{ "deployment.environment" = "prod" }`
    /// (`OTEL_RESOURCE_ATTRIBUTES` adds more).
    pub resource_attributes: std::collections::BTreeMap<String, String>,
    /// Serve Prometheus metrics (default `true`).
    pub metrics: bool,
    /// Path of the Prometheus endpoint (default `/metrics`).
    pub metrics_path: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            traces: true,
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::HttpProtobuf,
            sample_ratio: None,
            resource_attributes: std::collections::BTreeMap::new(),
            metrics: true,
            metrics_path: "/metrics".into(),
        }
    }
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP, usually port 4318.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC, usually port 4317.
    #[serde(rename = "grpc")]
    Grpc,
}
