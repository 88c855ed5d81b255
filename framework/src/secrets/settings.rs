//! `[secrets]`: refresh, staleness and the AWS client.

use std::time::Duration;

use serde::Deserialize;

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

impl SecretsConfig {
    /// The first rule the values break, as `(key, message)`.
    pub(crate) fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.refresh_interval.is_zero() {
            return Some(("secrets.refresh_interval", "must be longer than 0s"));
        }
        if self.fetch_timeout.is_zero() {
            return Some(("secrets.fetch_timeout", "must be longer than 0s"));
        }
        if self.max_staleness < self.refresh_interval {
            return Some((
                "secrets.max_staleness",
                "must be at least secrets.refresh_interval",
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_keys() {
        assert!(SecretsConfig::default().problem().is_none());
        let config = SecretsConfig {
            max_staleness: Duration::from_secs(1),
            ..SecretsConfig::default()
        };
        assert_eq!(config.problem().unwrap().0, "secrets.max_staleness");
    }
}
