//! `[secrets]`: refresh, staleness and the AWS client.

use std::time::Duration;

use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[secrets]`: how referenced secrets are cached, refreshed and fetched.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// How often every referenced secret is fetched again; also the cache lifetime of
    /// [`Secrets::get`](super::Secrets::get) (default `5m`).
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// How long the last good value may be used while refreshes fail before the `secrets`
    /// readiness check fails (before that it reports `warn`; default `1h`).
    #[serde(with = "humantime_serde")]
    pub max_staleness: Duration,
    /// Longest a single fetch may take (default `10s`).
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// `[secrets.aws]`: the Secrets Manager client.
    pub aws: AwsConfig,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(300),
            max_staleness: Duration::from_secs(3600),
            fetch_timeout: Duration::from_secs(10),
            aws: AwsConfig::default(),
        }
    }
}

/// `[secrets.aws]`: overrides for the standard AWS chain.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    /// The region (default: `AWS_REGION`, the profile, or instance metadata).
    pub region: Option<String>,
    /// The Secrets Manager endpoint (default: `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
    /// `AWS_ENDPOINT_URL`, or AWS itself).
    pub endpoint_url: Option<String>,
}

/// Checks the rules serde cannot express; the first broken one names its key.
pub(crate) fn validate(config: &SecretsConfig) -> Result<(), InvalidSetting> {
    if config.refresh_interval.is_zero() {
        return Err(InvalidSetting::new(
            "secrets.refresh_interval",
            "must be longer than 0s",
            "set it to how often secrets are fetched again, e.g. `5m` \
             (SERVICEKIT__SECRETS__REFRESH_INTERVAL)",
        ));
    }
    if config.fetch_timeout.is_zero() {
        return Err(InvalidSetting::new(
            "secrets.fetch_timeout",
            "must be longer than 0s",
            "set it to how long one fetch may take, e.g. `5s` (SERVICEKIT__SECRETS__FETCH_TIMEOUT)",
        ));
    }
    if config.max_staleness < config.refresh_interval {
        return Err(InvalidSetting::new(
            "secrets.max_staleness",
            "must be at least secrets.refresh_interval",
            "raise secrets.max_staleness to a few refresh intervals, e.g. `1h` for a `5m` \
             interval (SERVICEKIT__SECRETS__MAX_STALENESS)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_keys() {
        assert_eq!(validate(&SecretsConfig::default()), Ok(()));
        let config = SecretsConfig {
            max_staleness: Duration::from_secs(1),
            ..SecretsConfig::default()
        };
        assert_eq!(validate(&config).unwrap_err().key, "secrets.max_staleness");
    }
}
