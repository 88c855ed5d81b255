//! Configuration errors that name the key, where its value came from, and the fix.

use std::fmt;

use figment::{Figment, Metadata, Profile};

use crate::invalid::{GENERAL_FIX, InvalidSetting};

/// One invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key, e.g. `server.port`.
    pub key: String,
    /// Where the value came from, e.g. ``environment variable `PORT` ``.
    pub origin: String,
    /// What is wrong with it.
    pub message: String,
    /// How to correct it, e.g. ``correct or remove this value; docs/configuration.md lists every
    /// key with its type and default``; printed on its own `fix:` line.
    pub fix: String,
}

impl ConfigProblem {
    /// The problem `setting` describes, with the origin `figment` knows for its key.
    pub(crate) fn new(figment: &Figment, setting: InvalidSetting) -> Self {
        Self {
            origin: origin_of(figment, &setting.key),
            key: setting.key,
            message: setting.message,
            fix: setting.fix,
        }
    }
}

/// Configuration could not be loaded: the invalid values found, each with its key, origin and
/// fix (a value serde cannot read stops it at the first one; the rules checked after that
/// report the first broken one of each section).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// An error for one key whose value was set by `figment`'s provider for that key.
    pub(crate) fn invalid(figment: &Figment, setting: InvalidSetting) -> Self {
        Self::from_settings(figment, vec![setting])
    }

    /// An error for the settings a concern's rules refused (at least one), each with the
    /// origin `figment` knows for its key.
    pub(crate) fn from_settings(figment: &Figment, settings: Vec<InvalidSetting>) -> Self {
        let problems = settings
            .into_iter()
            .map(|s| ConfigProblem::new(figment, s))
            .collect();
        Self { problems }
    }

    /// Converts figment's extraction errors (all of them) into problems. `prefix` is the key
    /// the extraction started at (`app` for the service's own section, empty for the root).
    pub(crate) fn from_figment(figment: &Figment, err: figment::Error, prefix: &str) -> Self {
        let problems = err
            .into_iter()
            .map(|e| {
                let mut path: Vec<String> = Vec::new();
                if !prefix.is_empty() {
                    path.push(prefix.to_string());
                }
                path.extend(e.path.iter().cloned());
                // Name an unknown field itself, whether or not the path already ends with it.
                if let figment::error::Kind::UnknownField(field, _) = &e.kind
                    && path.last() != Some(field)
                {
                    path.push(field.clone());
                }
                let key = path.join(".");
                let origin = match &e.metadata {
                    Some(md) if prefix.is_empty() => describe(md, &path),
                    _ => origin_of(figment, &key),
                };
                ConfigProblem {
                    key,
                    origin,
                    message: e.kind.to_string(),
                    fix: GENERAL_FIX.to_string(),
                }
            })
            .collect();
        Self { problems }
    }

    /// An error listing `problems` (at least one).
    pub(crate) fn from_problems(problems: Vec<ConfigProblem>) -> Self {
        Self { problems }
    }

    /// The same error with every occurrence of each of `values` replaced by `[redacted]`, so
    /// that a message quoting a value (serde's "invalid type: string ...") cannot show a
    /// secret that was resolved into the configuration.
    pub(crate) fn redacting(mut self, values: &[&str]) -> Self {
        for problem in &mut self.problems {
            for value in values.iter().filter(|v| !v.is_empty()) {
                problem.message = problem.message.replace(value, crate::secrets::REDACTED);
                problem.fix = problem.fix.replace(value, crate::secrets::REDACTED);
            }
        }
        self
    }

    /// The invalid values found (usually one: deserialization stops at the first).
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration")?;
        for p in &self.problems {
            let key = if p.key.is_empty() { "(root)" } else { &p.key };
            write!(
                f,
                "\n  - `{key}` (from {}): {}\n    fix: {}",
                p.origin, p.message, p.fix
            )?;
        }
        Ok(())
    }
}

/// Describes which provider set `key` in `figment`.
pub(crate) fn origin_of(figment: &Figment, key: &str) -> String {
    // figment cannot look inside arrays (`auth.issuers.0.pem`): an element's origin is its
    // array's, so such a key is looked up by the part before its first index.
    let found = figment
        .find_metadata(key)
        .or_else(|| super::walk::in_array(key).and_then(|(array, _)| figment.find_metadata(array)));
    match found {
        Some(md) => {
            let path: Vec<&str> = key.split('.').collect();
            describe(md, &path)
        }
        None => "the built-in default".to_string(),
    }
}

fn describe<K: AsRef<str>>(md: &Metadata, path: &[K]) -> String {
    // A resolved secret reference names itself and where the reference was set.
    if md.name.starts_with("secret `") {
        return md.name.to_string();
    }
    if let Some(file) = md.source.as_ref().and_then(|s| s.file_path()) {
        return format!("file `{}`", file.display());
    }
    if md.source.as_ref().and_then(|s| s.code_location()).is_some() {
        return "a value set in code (ServiceBuilder::set)".to_string();
    }
    if md.name.contains("environment variable") {
        return format!(
            "environment variable `{}`",
            md.interpolate(&Profile::Default, path)
        );
    }
    md.name.to_string()
}
