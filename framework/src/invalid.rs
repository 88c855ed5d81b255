//! The one shape in which every concern reports a configuration value that cannot work.
//!
//! Each concern validates its own section (`server::validate`, `db::validate`, ...) and returns
//! an [`InvalidSetting`]: the dotted key, what is wrong, and the fix. The config loader, which
//! sits above the concerns, adds where the value came from and turns it into the public
//! `config::ConfigProblem`. The type lives here, not in `config`, so that no concern has to
//! import `config`.

/// The fix printed for a value serde cannot read (a type error reported by figment): every
/// rule of ours names its own fix.
pub(crate) const GENERAL_FIX: &str =
    "correct or remove this value; docs/configuration.md lists every key with its type and default";

/// A configuration value that breaks a rule serde cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidSetting {
    /// The dotted key, e.g. `server.body_limit`, or relative to the section when the caller
    /// adds the prefix (a client's `base_url` under `clients.<name>`).
    pub(crate) key: String,
    /// What is wrong with the value.
    pub(crate) message: String,
    /// How to correct it.
    pub(crate) fix: String,
}

impl InvalidSetting {
    /// A problem with `key`: what is wrong (`message`) and what to set instead (`fix`: the kind
    /// of value, an example and, where useful, the environment variable).
    pub(crate) fn new(
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The same problem with its key under `prefix` (`clients.billing` + `base_url`).
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.key = format!("{prefix}.{}", self.key);
        self
    }
}

impl std::fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}; fix: {}", self.key, self.message, self.fix)
    }
}

/// An error naming `key` unless `path` is absolute; the operational endpoints (probes,
/// `/metrics`, `/openapi.json`) are mounted at such paths.
pub(crate) fn absolute_path(key: &str, path: &str) -> Result<(), InvalidSetting> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            key,
            "must be an absolute path starting with `/`",
            format!(
                "set {key} to a path such as `/{}`",
                path.trim_start_matches('/')
            ),
        ))
    }
}
