//! Layered loading: defaults < `config/default.toml` < `config/{env}.toml` < environment.

use std::collections::BTreeMap;
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

    /// Builds the layered figment and extracts the framework's sections from it, without
    /// resolving secret references (the service resolves them with `config::resolve::load`).
    #[cfg(test)]
    pub(crate) fn load(&self, service_name: &str) -> Result<Loaded, ConfigError> {
        Self::extract(self.figment(), service_name)
    }

    /// The layered sources, lowest precedence first.
    pub(crate) fn figment(&self) -> Figment {
        let environment = self.environment();
        let mut figment = Figment::new()
            .merge(Toml::file(self.dir.join("default.toml")))
            .merge(Toml::file(self.dir.join(format!("{environment}.toml"))))
            .merge(EnvVars::from_process(EnvSet::Conventional))
            .merge(EnvVars::from_process(EnvSet::Prefixed));
        for (key, value) in &self.overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment
    }

    /// Extracts the framework's sections from `figment` and checks the rules serde cannot.
    pub(crate) fn extract(figment: Figment, service_name: &str) -> Result<Loaded, ConfigError> {
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::from_figment(&figment, e, ""))?;
        if config.service.name.is_empty() {
            config.service.name = service_name.to_string();
        }
        validate(&figment, &config)?;
        Ok(Loaded {
            config,
            figment,
            secret_refs: BTreeMap::new(),
        })
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
    /// The keys whose value came from a secret, and the reference each one was.
    pub(crate) secret_refs: BTreeMap<String, String>,
}

impl Loaded {
    /// Deserializes the section at `key` into `T`; a missing section deserializes from an
    /// empty table, so `#[serde(default)]` fields take their defaults.
    pub(crate) fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        let figment = &self.figment;
        // Deserializing the found value (not `extract_inner`) keeps error paths relative to the
        // section; `from_figment` prefixes `key` and looks up each value's origin.
        let value = figment
            .find_value(key)
            .unwrap_or_else(|_| figment::value::Value::from(figment::value::Dict::new()));
        T::deserialize(&value).map_err(|e| ConfigError::from_figment(figment, e, key))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> (tempfile::TempDir, Sources) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let sources = Sources {
            dir: dir.path().to_path_buf(),
            overrides: Vec::new(),
        };
        (dir, sources)
    }

    #[test]
    fn defaults_apply_without_files() {
        let (_dir, sources) = sources(&[]);
        let loaded = sources.load("svc").unwrap();
        assert_eq!(loaded.config.service.name, "svc");
        assert_eq!(loaded.config.server.port, 8080);
        assert_eq!(loaded.config.health.ready_path, "/health/ready");
    }

    #[test]
    fn files_layer_in_order_and_code_wins() {
        let (_dir, mut sources) = sources(&[
            ("default.toml", "[server]\nport = 9000\nbody_limit = 10\n"),
            ("staging.toml", "[server]\nport = 9100\n"),
        ]);
        sources
            .overrides
            .push(("service.environment".into(), "staging".into()));
        let loaded = sources.load("svc").unwrap();
        assert_eq!(loaded.config.server.port, 9100);
        assert_eq!(loaded.config.server.body_limit, 10);
        sources.overrides.push(("server.port".into(), 1.into()));
        assert_eq!(sources.load("svc").unwrap().config.server.port, 1);
    }

    #[test]
    fn a_bad_value_names_key_and_file() {
        let (dir, sources) = sources(&[("default.toml", "[server]\nport = \"eighty\"\n")]);
        let err = sources.load("svc").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems()[0].key, "server.port");
        assert!(text.contains("`server.port`"), "{text}");
        assert!(text.contains("default.toml"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(text.contains("fix:"), "{text}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let (_dir, sources) = sources(&[("default.toml", "[server]\nprot = 1\n")]);
        let err = sources.load("svc").unwrap_err();
        assert_eq!(err.problems()[0].key, "server.prot");
        assert!(
            err.to_string().contains("unknown field: found `prot`"),
            "{err}"
        );
    }

    #[test]
    fn rule_violations_name_key_and_origin() {
        let (_dir, mut sources) = sources(&[]);
        sources
            .overrides
            .push(("database.url".into(), "oracle://db".into()));
        let err = sources.load("svc").unwrap_err();
        assert_eq!(err.problems()[0].key, "database.url");
        assert_eq!(
            err.problems()[0].origin,
            "a value set in code (ServiceBuilder::set)"
        );
        assert!(
            err.to_string().contains("unsupported database URL scheme"),
            "{err}"
        );

        let (_dir, mut sources) = sources_with_level("info,[");
        let err = sources_load(&mut sources);
        assert_eq!(err.problems()[0].key, "log.level");
    }

    fn sources_with_level(level: &str) -> (tempfile::TempDir, Sources) {
        sources(&[("default.toml", &format!("[log]\nlevel = \"{level}\"\n"))])
    }

    fn sources_load(sources: &mut Sources) -> ConfigError {
        sources.load("svc").unwrap_err()
    }

    #[test]
    fn app_sections_use_serde_defaults_and_name_bad_keys() {
        #[derive(Debug, serde::Deserialize)]
        struct App {
            #[serde(default)]
            page: u32,
        }
        let (_dir, sources) = sources(&[]);
        let loaded = sources.load("svc").unwrap();
        assert_eq!(loaded.section::<App>("app").unwrap().page, 0);

        let (dir, sources) = self::sources(&[("default.toml", "[app]\npage = -1\n")]);
        let err = sources
            .load("svc")
            .unwrap()
            .section::<App>("app")
            .unwrap_err();
        assert_eq!(err.problems()[0].key, "app.page");
        assert!(
            err.problems()[0]
                .origin
                .contains(&dir.path().display().to_string())
        );
    }
}
