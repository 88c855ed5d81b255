//! Layered loading: the six sources listed in the `config` module docs, from code
//! defaults to code overrides (`docs/configuration.md` lists the same six).

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::de::DeserializeOwned;

use super::env::{EnvSet, EnvVars};
use super::error::ConfigError;
use super::model::Config;
use crate::invalid::InvalidSetting;

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
                InvalidSetting::new(
                    "service.environment",
                    format!(
                        "is `{}`, but the files were selected for `{environment}`",
                        config.service.environment
                    ),
                    format!(
                        "choose the environment only with SERVICEKIT_ENV, e.g. \
                         `SERVICEKIT_ENV={}`, and remove service.environment from the files \
                         and SERVICEKIT__SERVICE__ENVIRONMENT",
                        config.service.environment
                    ),
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

/// Checks the rules serde cannot express: each concern's validator checks its own section,
/// and the rules that span sections are checked here. Every broken rule becomes one problem
/// naming its key, origin and fix (the first per section, and one per key).
fn validate(figment: &Figment, config: &Config) -> Result<(), ConfigError> {
    let settings = invalid_settings(config);
    if settings.is_empty() {
        return Ok(());
    }
    let mut keys = std::collections::HashSet::new();
    let settings = settings
        .into_iter()
        .filter(|s| keys.insert(s.key.clone()))
        .collect();
    Err(ConfigError::from_settings(figment, settings))
}

/// Every rule `config` breaks, the first per section. (`[secrets]` is checked earlier, before
/// references are resolved with it.)
pub(super) fn invalid_settings(config: &Config) -> Vec<InvalidSetting> {
    let mut found = Vec::new();
    let mut check = |result: Result<(), InvalidSetting>| {
        if let Err(setting) = result {
            found.push(setting);
        }
    };
    check(crate::server::validate(&config.server));
    check(crate::tls::validate(config.server.tls.as_ref()));
    check(crate::db::validate(&config.database));
    check(crate::health::validate(&config.health));
    check(crate::telemetry::validate_log(&config.log));
    check(crate::telemetry::validate(&config.telemetry));
    check(crate::openapi::validate(&config.openapi));
    check(distinct_operational_paths(config));
    check(
        match super::features::missing(config, crate::features::Compiled::THIS_BUILD) {
            Some(setting) => Err(setting),
            None => Ok(()),
        },
    );
    check(crate::auth::validate_config(
        &config.auth,
        &config.service.environment,
    ));
    check(crate::server::rate_limit::validate(&config.rate_limit));
    check(crate::server::rate_limit::validate_store(
        &config.rate_limit,
        config.cache.url.is_some(),
    ));
    check(crate::events::validate(&config.events));
    check(crate::cache::validate(&config.cache));
    check(service_name(&config.service.name));
    for (name, client) in &config.clients {
        check(crate::client::validate(client).map_err(|s| s.under(&format!("clients.{name}"))));
    }
    found
}

/// `service.name` names the default SQLite file, so it must be a plain file name.
fn service_name(name: &str) -> Result<(), InvalidSetting> {
    if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(InvalidSetting::new(
            "service.name",
            "must use only letters, digits, `-`, `_` and `.`, and not start with `.`",
            "set it to the service's name as in metrics and traces, e.g. `student-service` \
             (SERVICEKIT__SERVICE__NAME)",
        ));
    }
    Ok(())
}

/// The operational endpoints share the main router (or the admin one): no two may have the same
/// path. Each concern checks that its own paths are absolute.
fn distinct_operational_paths(config: &Config) -> Result<(), InvalidSetting> {
    let paths = [
        ("health.live_path", &config.health.live_path),
        ("health.ready_path", &config.health.ready_path),
        ("health.startup_path", &config.health.startup_path),
        ("telemetry.metrics_path", &config.telemetry.metrics_path),
        ("openapi.path", &config.openapi.path),
    ];
    for (i, (key, path)) in paths.iter().enumerate() {
        if let Some((other, _)) = paths[..i].iter().find(|(_, p)| p == path) {
            return Err(InvalidSetting::new(
                *key,
                format!("`{path}` is already used by {other}"),
                format!("give {key} a path no other endpoint uses, e.g. `/internal{path}`"),
            ));
        }
    }
    Ok(())
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
