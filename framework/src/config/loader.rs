//! Layered loading: defaults < `config/default.toml` < `config/{env}.toml` < environment.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::de::DeserializeOwned;

use super::env::{EnvSet, EnvVars};
use super::error::ConfigError;
use super::model::{Config, LogConfig};

/// Environment variable naming the folder of the configuration files (default `config`).
pub const CONFIG_DIR_VAR: &str = "SERVICEKIT_CONFIG_DIR";

/// Where configuration comes from, before it is loaded.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    /// Folder holding `default.toml` and `{env}.toml`.
    pub(crate) dir: PathBuf,
    /// Values set in code (tests, builders); they win over everything else.
    pub(crate) overrides: Vec<(String, serde_json::Value)>,
}

impl Sources {
    pub(crate) fn new() -> Self {
        let dir = std::env::var_os(CONFIG_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Self {
            dir,
            overrides: Vec::new(),
        }
    }

    /// Builds the layered figment and extracts the framework's sections from it.
    pub(crate) fn load(&self, service_name: &str) -> Result<Loaded, ConfigError> {
        let environment = self.environment();
        let mut figment = Figment::new()
            .merge(Toml::file(self.dir.join("default.toml")))
            .merge(Toml::file(self.dir.join(format!("{environment}.toml"))))
            .merge(EnvVars::from_process(EnvSet::Conventional))
            .merge(EnvVars::from_process(EnvSet::Prefixed));
        for (key, value) in &self.overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::from_figment(&figment, e, ""))?;
        if config.service.name.is_empty() {
            config.service.name = service_name.to_string();
        }
        validate(&figment, &config)?;
        Ok(Loaded { config, figment })
    }

    /// The selected environment: an override, else `SERVICEKIT_ENV`, else `dev`.
    fn environment(&self) -> String {
        self.overrides
            .iter()
            .rev()
            .find(|(k, _)| k == "service.environment")
            .and_then(|(_, v)| v.as_str().map(str::to_string))
            .or_else(|| std::env::var("SERVICEKIT_ENV").ok())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "dev".to_string())
    }
}

/// Loaded configuration: the typed sections plus the layered source for the service's own.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) config: Config,
    pub(crate) figment: Figment,
}

impl Loaded {
    /// Deserializes the section at `key` into `T`; a missing section deserializes from an
    /// empty table, so `#[serde(default)]` fields take their defaults.
    pub(crate) fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        let figment = &self.figment;
        if figment.find_value(key).is_err() {
            let empty = figment::value::Value::from(figment::value::Dict::new());
            return T::deserialize(&empty).map_err(|e| ConfigError::from_figment(figment, e, key));
        }
        figment
            .extract_inner(key)
            .map_err(|e| ConfigError::from_figment(figment, e, ""))
    }
}

/// Checks the rules serde cannot express; each failure names its key and origin.
fn validate(figment: &Figment, config: &Config) -> Result<(), ConfigError> {
    let fail = |key: &str, msg: &str| Err(ConfigError::invalid(figment, key, msg));
    if config.server.body_limit == 0 {
        return fail("server.body_limit", "must be at least 1 byte");
    }
    if config.server.request_timeout.is_zero() {
        return fail("server.request_timeout", "must be longer than 0s");
    }
    if config.database.max_connections == 0 {
        return fail("database.max_connections", "must be at least 1");
    }
    if config.database.min_connections > config.database.max_connections {
        return fail(
            "database.min_connections",
            "must not exceed database.max_connections",
        );
    }
    for (key, path) in [
        ("health.live_path", &config.health.live_path),
        ("health.ready_path", &config.health.ready_path),
        ("health.startup_path", &config.health.startup_path),
    ] {
        if !path.starts_with('/') {
            return fail(key, "must be an absolute path starting with `/`");
        }
    }
    if let Err(e) = parse_filter(&config.log) {
        return fail("log.level", &format!("not a valid log filter: {e}"));
    }
    if let Some(url) = &config.database.url
        && let Err(e) = crate::db::DbKind::from_url(secrecy::ExposeSecret::expose_secret(url))
    {
        return fail("database.url", &e.to_string());
    }
    if let Err(e) = crate::auth::validate_config(&config.auth) {
        return fail(&e.key, &e.message);
    }
    if let Err(e) = config.service.name.parse::<http::HeaderValue>() {
        return fail("service.name", &format!("must be printable ASCII: {e}"));
    }
    Ok(())
}

/// Parses the log filter, as telemetry will.
pub(crate) fn parse_filter(
    log: &LogConfig,
) -> Result<tracing_subscriber::EnvFilter, tracing_subscriber::filter::ParseError> {
    tracing_subscriber::EnvFilter::builder().parse(&log.level)
}
