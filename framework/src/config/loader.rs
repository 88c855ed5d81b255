//! Layered loading: the six sources listed in the `config` module docs, from code
//! defaults to code overrides (`docs/configuration.md` lists the same six).

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
    /// Defaults set in code; files and environment win over them.
    pub(crate) defaults: Vec<(String, serde_json::Value)>,
}

impl Sources {
    pub(crate) fn new() -> Self {
        let dir = std::env::var_os(CONFIG_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Self {
            dir,
            overrides: Vec::new(),
            defaults: Vec::new(),
        }
    }

    /// Builds the layered figment and extracts the framework's sections from it, without
    /// resolving secret references (the service resolves them with `config::resolve::load`).
    #[cfg(test)]
    pub(crate) fn load(&self, service_name: &str) -> Result<Loaded, ConfigError> {
        Self::extract(self.figment(), service_name, &self.environment())
    }

    /// The layered sources, lowest precedence first.
    pub(crate) fn figment(&self) -> Figment {
        let environment = self.environment();
        let mut figment = Figment::new();
        for (key, value) in &self.defaults {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment = figment
            .merge(toml_file(&self.dir.join("default.toml")))
            .merge(toml_file(&self.dir.join(format!("{environment}.toml"))))
            .merge(EnvVars::from_process(EnvSet::Conventional));
        let known = client_names(&figment, &self.overrides);
        figment = figment.merge(EnvVars::from_process(EnvSet::Prefixed).with_client_names(&known));
        for (key, value) in &self.overrides {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment
    }

    /// Extracts the framework's sections from `figment` and checks the rules serde cannot.
    pub(crate) fn extract(
        figment: Figment,
        service_name: &str,
        environment: &str,
    ) -> Result<Loaded, ConfigError> {
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::from_figment(&figment, e, ""))?;
        if config.service.name.is_empty() {
            config.service.name = service_name.to_string();
        }
        if config.service.environment.is_empty() {
            // `SERVICEKIT_ENV=` (set but empty) selects the default environment.
            config.service.environment = environment.to_string();
        }
        if config.service.environment != environment {
            // A file cannot choose the environment: the environment chooses the files.
            return Err(ConfigError::invalid(
                &figment,
                "service.environment",
                format!(
                    "is `{}`, but the files were selected for `{environment}`; set the environment \
                     with SERVICEKIT_ENV instead of in a file",
                    config.service.environment
                ),
            ));
        }
        validate(&figment, &config)?;
        Ok(Loaded {
            config,
            figment,
            secret_refs: BTreeMap::new(),
        })
    }

    /// The selected environment, which picks `{env}.toml`: an override, else `SERVICEKIT_ENV`,
    /// else `SERVICEKIT__SERVICE__ENVIRONMENT`, else `dev`.
    pub(crate) fn environment(&self) -> String {
        self.overrides
            .iter()
            .rev()
            .find(|(k, _)| k == "service.environment")
            .and_then(|(_, v)| v.as_str().map(str::to_string))
            .or_else(|| std::env::var("SERVICEKIT_ENV").ok())
            .or_else(|| std::env::var("SERVICEKIT__SERVICE__ENVIRONMENT").ok())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "dev".to_string())
    }
}

/// The clients configured below the environment (defaults, files) or in code overrides, so
/// that an environment variable can name them with `_` for `-`.
fn client_names(figment: &Figment, overrides: &[(String, serde_json::Value)]) -> Vec<String> {
    let mut names: Vec<String> = figment
        .find_value("clients")
        .ok()
        .and_then(|v| v.into_dict())
        .map(|d| d.into_keys().collect())
        .unwrap_or_default();
    names.extend(
        overrides
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("clients.")?.split('.').next())
            .map(str::to_string),
    );
    names
}

/// The TOML file at exactly `path`, or nothing when it does not exist. (`Toml::file` would also
/// search the parent folders for a file of that name, and `Toml::file_exact` fails on a missing
/// one; an absent optional file is not an error.)
fn toml_file(path: &std::path::Path) -> Figment {
    if path.is_file() {
        Figment::from(Toml::file_exact(path))
    } else {
        Figment::new()
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
    if config.server.header_read_timeout.is_zero() {
        return fail("server.header_read_timeout", "must be longer than 0s");
    }
    if config.server.idle_timeout.is_zero() {
        return fail("server.idle_timeout", "must be longer than 0s");
    }
    for (i, net) in config.server.deadline_trusted_networks.iter().enumerate() {
        if crate::server::rate_limit::parse_net(net).is_none() {
            return fail(
                &format!("server.deadline_trusted_networks[{i}]"),
                &format!("`{net}` is not an IP address or CIDR range such as `10.0.0.0/8`"),
            );
        }
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
    // The operational endpoints: each an absolute path, no two the same.
    let ops_paths = [
        ("health.live_path", &config.health.live_path),
        ("health.ready_path", &config.health.ready_path),
        ("health.startup_path", &config.health.startup_path),
        ("telemetry.metrics_path", &config.telemetry.metrics_path),
        ("openapi.path", &config.openapi.path),
    ];
    for (i, (key, path)) in ops_paths.iter().enumerate() {
        if !path.starts_with('/') {
            return fail(key, "must be an absolute path starting with `/`");
        }
        if let Some((other, _)) = ops_paths[..i].iter().find(|(_, p)| p == path) {
            return fail(key, &format!("`{path}` is already used by {other}"));
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
    if let Some((key, message)) =
        crate::features::missing(config, crate::features::Compiled::THIS_BUILD)
    {
        return fail(key, &message);
    }
    if let Err(e) = crate::auth::validate_config(&config.auth, &config.service.environment) {
        return fail(&e.key, &e.message);
    }
    if let Err(e) = crate::server::rate_limit::validate(&config.rate_limit) {
        return fail(&e.key, &e.message);
    }
    if let Some(ratio) = config.telemetry.sample_ratio
        && !(0.0..=1.0).contains(&ratio)
    {
        return fail("telemetry.sample_ratio", "must be between 0.0 and 1.0");
    }
    if let Some(endpoint) = &config.telemetry.otlp_endpoint
        && !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return fail(
            "telemetry.otlp_endpoint",
            "must be a URL such as http://otel-collector:4318",
        );
    }
    let name = &config.service.name;
    if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        // It names the default SQLite file, so it must be a plain file name.
        return fail(
            "service.name",
            "must use only letters, digits, `-`, `_` and `.`, and not start with `.`",
        );
    }
    for (name, client) in &config.clients {
        if let Err((key, message)) = crate::client::validate(client) {
            return fail(&format!("clients.{name}.{key}"), &message);
        }
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
            defaults: Vec::new(),
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
            // Outside dev and test, auth must be configured or switched off explicitly.
            (
                "staging.toml",
                "[server]\nport = 9100\n[auth]\nenabled = false\n",
            ),
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
    fn connection_limits_default_and_a_zero_header_read_timeout_is_refused() {
        let (_dir, ok) = sources(&[("default.toml", "[server]\nmax_connections = 0\n")]);
        let server = ok.load("svc").unwrap().config.server;
        assert_eq!(
            server.header_read_timeout,
            std::time::Duration::from_secs(10)
        );
        assert_eq!(server.idle_timeout, std::time::Duration::from_secs(75));
        assert_eq!(server.max_connections, 0, "0 is accepted: no limit");
        let (_dir, zero) = sources(&[("default.toml", "[server]\nheader_read_timeout = \"0s\"\n")]);
        let err = zero.load("svc").unwrap_err();
        assert_eq!(err.problems()[0].key, "server.header_read_timeout");
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

    #[test]
    fn a_file_cannot_choose_the_environment() {
        let (_dir, sources) = sources(&[("default.toml", "[service]\nenvironment = \"prod\"\n")]);
        let err = sources.load("svc").unwrap_err();
        assert_eq!(err.problems()[0].key, "service.environment");
        assert!(err.to_string().contains("SERVICEKIT_ENV"), "{err}");
    }

    #[test]
    fn probe_paths_must_differ_and_names_must_be_file_names() {
        let (_dir, sources) =
            sources(&[("default.toml", "[health]\nready_path = \"/health/live\"\n")]);
        let err = sources.load("svc").unwrap_err();
        assert_eq!(err.problems()[0].key, "health.ready_path");
        assert!(err.to_string().contains("health.live_path"), "{err}");

        let (_dir, sources) = self::sources(&[("default.toml", "[service]\nname = \"../etc\"\n")]);
        assert_eq!(
            sources.load("svc").unwrap_err().problems()[0].key,
            "service.name"
        );
    }

    #[test]
    fn parent_folders_are_not_searched() {
        let parent = tempfile::tempdir().unwrap();
        std::fs::create_dir(parent.path().join("config")).unwrap();
        std::fs::write(
            parent.path().join("config/default.toml"),
            "[server]\nport = 1\n",
        )
        .unwrap();
        let sources = Sources {
            dir: parent.path().join("child/config"),
            overrides: Vec::new(),
            defaults: Vec::new(),
        };
        assert_eq!(sources.load("svc").unwrap().config.server.port, 8080);
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

    fn sources_with_default_port(dir: &std::path::Path) -> Sources {
        let mut sources = Sources::new();
        sources.dir = dir.to_path_buf();
        sources
            .defaults
            .push(("server.port".into(), serde_json::json!(8081)));
        sources
    }

    #[test]
    fn code_defaults_lose_to_files_and_overrides() {
        if std::env::var_os("PORT").is_some()
            || std::env::var_os("SERVICEKIT__SERVER__PORT").is_some()
        {
            return; // the environment would win over both
        }
        let dir = tempfile::tempdir().unwrap();
        let loaded = sources_with_default_port(dir.path()).load("svc").unwrap();
        assert_eq!(loaded.config.server.port, 8081);

        std::fs::write(dir.path().join("default.toml"), "[server]\nport = 9000\n").unwrap();
        let loaded = sources_with_default_port(dir.path()).load("svc").unwrap();
        assert_eq!(loaded.config.server.port, 9000);

        let mut with_override = sources_with_default_port(dir.path());
        with_override
            .overrides
            .push(("server.port".into(), serde_json::json!(9100)));
        assert_eq!(with_override.load("svc").unwrap().config.server.port, 9100);
    }

    #[test]
    fn invalid_client_tables_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("default.toml"),
            "[clients.billing]\nbase_url = \"ftp://x\"\n",
        )
        .unwrap();
        let err = sources_with_default_port(dir.path())
            .load("svc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("clients.billing.base_url"), "{err}");
        assert!(err.contains("default.toml"), "{err}");
    }
}
