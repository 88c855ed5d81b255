//! The `[database]` configuration section and the rules serde cannot express.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::invalid::InvalidSetting;

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

/// Checks the rules serde cannot express; the first broken one names its key. (How
/// `url`, `password` and `secret` combine is checked once secret references are resolved, by
/// `configured_url`.)
pub(crate) fn validate(config: &DatabaseConfig) -> Result<(), InvalidSetting> {
    if config.max_connections == 0 {
        return Err(InvalidSetting::new(
            "database.max_connections",
            "must be at least 1",
            "set it to the most connections this replica may open, e.g. `10` \
             (SERVICEKIT__DATABASE__MAX_CONNECTIONS)",
        ));
    }
    if config.min_connections > config.max_connections {
        return Err(InvalidSetting::new(
            "database.min_connections",
            "must not exceed database.max_connections",
            "lower database.min_connections or raise database.max_connections, e.g. `1` and \
             `10` (SERVICEKIT__DATABASE__MIN_CONNECTIONS)",
        ));
    }
    if let Some(url) = &config.url
        && let Err(e) = super::DbKind::from_url(url.expose_secret())
    {
        return Err(InvalidSetting::new(
            "database.url",
            e.to_string(),
            "set it to a `sqlite://`, `postgres://` or `mysql://` URL, e.g. \
             `postgres://app@db:5432/students` (SERVICEKIT__DATABASE__URL or DATABASE_URL)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_their_key() {
        assert_eq!(validate(&DatabaseConfig::default()), Ok(()));
        let pool = DatabaseConfig {
            min_connections: 11,
            ..DatabaseConfig::default()
        };
        assert_eq!(validate(&pool).unwrap_err().key, "database.min_connections");
        let oracle = DatabaseConfig {
            url: Some("oracle://db".into()),
            ..DatabaseConfig::default()
        };
        let err = validate(&oracle).unwrap_err();
        assert_eq!(err.key, "database.url");
        assert!(
            err.message.contains("unsupported database URL scheme"),
            "{}",
            err.message
        );
    }
}
