//! Environment variables as a figment provider that remembers each value's variable name.
//!
//! figment's own `Env` provider reports a bad value as `SERVER.PORT`, not as the variable the
//! operator actually set (`SERVICEKIT__SERVER__PORT` or `PORT`); error messages must name the
//! variable, so this small provider keeps the mapping and interpolates it back.

use std::collections::BTreeMap;

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// Prefix of the structured variables: `SERVICEKIT__SERVER__PORT` sets `server.port`.
pub(crate) const PREFIX: &str = "SERVICEKIT__";

/// The conventional variables operators already set, and the key each one sets.
pub(crate) const CONVENTIONAL: &[(&str, &str)] = &[
    ("SERVICEKIT_ENV", "service.environment"),
    ("PORT", "server.port"),
    ("DATABASE_URL", "database.url"),
    ("RUST_LOG", "log.level"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "telemetry.otlp_endpoint"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "telemetry.otlp_protocol"),
];

/// Which variables a provider reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EnvSet {
    /// `SERVICEKIT__SECTION__KEY` variables.
    Prefixed,
    /// The variables of [`CONVENTIONAL`].
    Conventional,
}

/// A figment provider over a snapshot of the process environment.
#[derive(Debug, Clone)]
pub(crate) struct EnvVars {
    set: EnvSet,
    /// Dotted key -> (variable name, raw value).
    vars: BTreeMap<String, (String, String)>,
}

impl EnvVars {
    /// Reads the variables of `set` from the process environment.
    pub(crate) fn from_process(set: EnvSet) -> Self {
        Self::from_iter(set, std::env::vars())
    }

    /// Reads the variables of `set` from `vars` (used by tests).
    pub(crate) fn from_iter(set: EnvSet, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = vars
            .into_iter()
            .filter_map(|(name, value)| key_for(set, &name).map(|key| (key, (name, value))))
            .collect();
        Self { set, vars }
    }

    /// Renames the client segment of `clients.<name>.*` keys to the client it means.
    ///
    /// Most shells cannot export a variable with `-` in its name, so
    /// `SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL` has to set the `student-service`
    /// client. A name is matched to a client already configured by a lower layer (`known`),
    /// comparing with `_` and `-` alike; an unknown name is written with `-`, the form of DNS
    /// and Kubernetes service names (which cannot hold `_`).
    pub(crate) fn with_client_names(mut self, known: &[String]) -> Self {
        let vars = std::mem::take(&mut self.vars);
        for (key, var) in vars {
            let key = match key.split('.').collect::<Vec<_>>().as_slice() {
                ["clients", name, rest @ ..] if !rest.is_empty() => {
                    let name = canonical_client_name(name, known);
                    format!("clients.{name}.{}", rest.join("."))
                }
                _ => key,
            };
            self.vars.insert(key, var);
        }
        self
    }
}

/// The client `name` (from an environment variable) refers to: a `known` one equal to it
/// with `_` and `-` alike, else `name` with `-` for `_`.
pub(crate) fn canonical_client_name(name: &str, known: &[String]) -> String {
    if known.iter().any(|k| k == name) {
        return name.to_string();
    }
    let folded = name.replace('_', "-");
    known
        .iter()
        .find(|k| k.replace('_', "-") == folded)
        .cloned()
        .unwrap_or(folded)
}

/// The dotted configuration key an environment variable sets, if it sets one.
fn key_for(set: EnvSet, name: &str) -> Option<String> {
    match set {
        EnvSet::Prefixed => {
            let rest = name.strip_prefix(PREFIX)?;
            let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if parts.iter().any(String::is_empty) {
                return None;
            }
            Some(parts.join("."))
        }
        EnvSet::Conventional => CONVENTIONAL
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, key)| (*key).to_string()),
    }
}

/// The environment variable that sets the dotted `key`.
pub(crate) fn var_for(set: EnvSet, key: &str) -> String {
    match set {
        EnvSet::Prefixed => format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase()),
        EnvSet::Conventional => CONVENTIONAL
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(var, _)| (*var).to_string())
            .unwrap_or_else(|| key.to_string()),
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        let set = self.set;
        // The variable actually set, which `var_for` cannot rebuild for a renamed client.
        let names: BTreeMap<String, String> = self
            .vars
            .iter()
            .map(|(key, (var, _))| (key.clone(), var.clone()))
            .collect();
        Metadata::named("environment variable").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            names
                .get(&key)
                .cloned()
                .unwrap_or_else(|| var_for(set, &key))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, (_, raw)) in &self.vars {
            // Values are parsed like figment's own Env provider does: `8080` is a number,
            // `true` a boolean, anything else a string.
            let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
            merge_nested(&mut dict, key, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Inserts `value` at the dotted `key` of `dict`, creating the intermediate tables.
fn merge_nested(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                merge_nested(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn prefixed_variables_nest_by_double_underscore() {
        let env = EnvVars::from_iter(
            EnvSet::Prefixed,
            vars(&[("SERVICEKIT__SERVER__PORT", "9000"), ("OTHER", "x")]),
        );
        let data = env.data().unwrap();
        let dict = &data[&Profile::Default];
        let port = dict["server"].as_dict().unwrap()["port"].to_u128();
        assert_eq!(port, Some(9000));
        assert_eq!(dict.len(), 1);
    }

    #[test]
    fn malformed_prefixed_names_are_ignored() {
        let env = EnvVars::from_iter(EnvSet::Prefixed, vars(&[("SERVICEKIT____X", "1")]));
        assert!(env.data().unwrap()[&Profile::Default].is_empty());
    }

    #[test]
    fn conventional_variables_map_to_their_keys() {
        let env = EnvVars::from_iter(
            EnvSet::Conventional,
            vars(&[("PORT", "7000"), ("DATABASE_URL", "postgres://x/y")]),
        );
        let data = env.data().unwrap();
        let dict = &data[&Profile::Default];
        assert_eq!(
            dict["server"].as_dict().unwrap()["port"].to_u128(),
            Some(7000)
        );
        assert_eq!(
            dict["database"].as_dict().unwrap()["url"].as_str(),
            Some("postgres://x/y")
        );
    }

    #[test]
    fn client_names_from_the_environment_mean_the_configured_client() {
        let env = EnvVars::from_iter(
            EnvSet::Prefixed,
            vars(&[
                ("SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL", "http://a"),
                ("SERVICEKIT__CLIENTS__BILLING_API__DEADLINE", "1s"),
                ("SERVICEKIT__CLIENTS__LEGACY_NAME__BASE_URL", "http://c"),
            ]),
        )
        .with_client_names(&["student-service".into(), "legacy_name".into()]);
        let data = env.data().unwrap();
        let clients = data[&Profile::Default]["clients"].as_dict().unwrap();
        let names: Vec<&str> = clients.keys().map(String::as_str).collect();
        assert_eq!(names, ["billing-api", "legacy_name", "student-service"]);
        let md = env.metadata();
        assert_eq!(
            md.interpolate(
                &Profile::Default,
                &["clients", "student-service", "base_url"]
            ),
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL"
        );
    }

    #[test]
    fn variable_names_are_interpolated_back() {
        assert_eq!(
            var_for(EnvSet::Prefixed, "server.port"),
            "SERVICEKIT__SERVER__PORT"
        );
        assert_eq!(var_for(EnvSet::Conventional, "server.port"), "PORT");
    }
}
