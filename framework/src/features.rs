//! Which optional parts this build of servicekit holds, and the message for a setting that needs
//! one it leaves out (the check itself is configuration validation, in `config`).
//!
//! Heavy dependencies sit behind cargo features (`postgres`, `mysql`, `aws`, `otlp`,
//! `rate-limit`; `sqlite` is on by default). Configuration is read at run time, so a setting
//! that needs a missing feature (`database.url = "postgres://.."` without `postgres`) would
//! otherwise be ignored or fail obscurely; instead startup stops with the key and the feature
//! to enable.

use crate::db::DbKind;

/// The optional features compiled into a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compiled {
    pub(crate) sqlite: bool,
    pub(crate) postgres: bool,
    pub(crate) mysql: bool,
    pub(crate) aws: bool,
    pub(crate) otlp: bool,
    pub(crate) rate_limit: bool,
    pub(crate) cache: bool,
}

impl Compiled {
    /// This build.
    pub(crate) const THIS_BUILD: Self = Self {
        sqlite: cfg!(feature = "sqlite"),
        postgres: cfg!(feature = "postgres"),
        mysql: cfg!(feature = "mysql"),
        aws: cfg!(feature = "aws"),
        otlp: cfg!(feature = "otlp"),
        rate_limit: cfg!(feature = "rate-limit"),
        cache: cfg!(feature = "cache"),
    };

    /// Whether the database driver for `kind` is compiled in.
    pub(crate) fn has_driver(self, kind: DbKind) -> bool {
        match kind {
            DbKind::Sqlite => self.sqlite,
            DbKind::Postgres => self.postgres,
            DbKind::MySql => self.mysql,
        }
    }
}

/// The message for a setting that needs `feature`: what it is for, and how to enable it.
pub(crate) fn needs(feature: &str, purpose: &str) -> String {
    format!("{}; {}", missing(feature, purpose), enable(feature))
}

/// What is wrong when `purpose` needs `feature`: the first half of [`needs`].
pub(crate) fn missing(feature: &str, purpose: &str) -> String {
    format!("{purpose} needs servicekit's `{feature}` cargo feature, which this build leaves out")
}

/// How to enable `feature`: the second half of [`needs`].
pub(crate) fn enable(feature: &str) -> String {
    format!(
        "enable servicekit's `{feature}` feature in Cargo.toml \
         (`servicekit = {{ version = \"0.1\", features = [\"{feature}\"] }}`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_matches_its_features() {
        assert_eq!(Compiled::THIS_BUILD.postgres, cfg!(feature = "postgres"));
        assert_eq!(
            Compiled::THIS_BUILD.rate_limit,
            cfg!(feature = "rate-limit")
        );
    }
}
