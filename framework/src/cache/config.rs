//! The `[cache]` configuration section and the rules serde cannot express.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[cache]`: the shared Redis (or Valkey, or ElastiCache) behind
/// [`Context::cache`](crate::Context::cache) (see
/// [`docs/cache.md`](https://github.com/servicekit/servicekit/blob/main/docs/cache.md)).
///
/// ```toml
/// [cache]
/// url = "rediss://my-cache.abc123.euw1.cache.amazonaws.com:6379"
/// username = "student-service"
/// password = "aws-sm://prod/student-cache#password"
/// default_ttl = "5m"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// The server (`SERVICEKIT__CACHE__URL`): `redis://host:6379/0`, or `rediss://` for TLS
    /// (`valkey://` and `valkeys://` too). Secret references are allowed. Unset: the service
    /// has no cache. Needs servicekit's `cache` feature.
    pub url: Option<SecretString>,
    /// The user for Redis 6 ACLs / ElastiCache RBAC (default: the URL's, else none). Secret
    /// references are allowed.
    pub username: Option<SecretString>,
    /// The password or AUTH token (default: the URL's, else none). Secret references are
    /// allowed (`aws-sm://prod/cache#password`); it is never logged.
    pub password: Option<SecretString>,
    /// The CA certificate (PEM file) that signed a `rediss://` server's certificate, when the
    /// system's trust store does not hold it (default: the system's roots).
    pub ca_file: Option<PathBuf>,
    /// Put before every key as `<prefix>:<key>`, so that services sharing one server never
    /// read each other's values (default: the service name).
    pub prefix: Option<String>,
    /// How long a value lives when the call gives no TTL (default `5m`).
    #[serde(with = "humantime_serde")]
    pub default_ttl: Duration,
    /// How long `get_or_load` remembers that the loader found nothing (default `5s`).
    #[serde(with = "humantime_serde")]
    pub negative_ttl: Duration,
    /// Longest one Redis command may take before the call goes on without the cache
    /// (default `200ms`).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Longest one connection attempt may take (default `1s`).
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Consecutive failed commands after which the cache is skipped for `breaker_cooldown`
    /// (default `3`).
    pub breaker_failures: u32,
    /// How long the cache is skipped once `breaker_failures` commands in a row failed; then one
    /// command probes it (default `1s`).
    #[serde(with = "humantime_serde")]
    pub breaker_cooldown: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            url: None,
            username: None,
            password: None,
            ca_file: None,
            prefix: None,
            default_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(5),
            timeout: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(1),
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(1),
        }
    }
}

/// The URL schemes the `redis` crate accepts over TCP, and whether each means TLS.
const SCHEMES: &[(&str, bool)] = &[
    ("redis", false),
    ("rediss", true),
    ("valkey", false),
    ("valkeys", true),
];

/// Whether `url` asks for TLS (`rediss://`, `valkeys://`); `None` for another scheme.
pub(crate) fn uses_tls(url: &str) -> Option<bool> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    SCHEMES
        .iter()
        .find(|(name, _)| *name == scheme)
        .map(|(_, tls)| *tls)
}

fn positive(key: &str, value: Duration, example: &str) -> Result<(), InvalidSetting> {
    if value < Duration::from_millis(1) {
        let env = format!(
            "SERVICEKIT__CACHE__{}",
            key.trim_start_matches("cache.").to_ascii_uppercase()
        );
        return Err(InvalidSetting::new(
            key,
            "must be at least 1ms",
            format!("set it to a duration such as `{example}` ({env})"),
        ));
    }
    Ok(())
}

/// A setting that only means something with `cache.url`.
fn needs_url(key: &str) -> InvalidSetting {
    InvalidSetting::new(
        key,
        "is set but cache.url is not, so the service has no cache to use it with",
        "set cache.url to the server, e.g. `redis://127.0.0.1:6379` (SERVICEKIT__CACHE__URL), \
         or remove this key",
    )
}

/// Checks the rules serde cannot express; the first broken one names its key.
pub(crate) fn validate(config: &CacheConfig) -> Result<(), InvalidSetting> {
    match &config.url {
        Some(url) => {
            let url = url.expose_secret();
            let Some(tls) = uses_tls(url) else {
                return Err(InvalidSetting::new(
                    "cache.url",
                    "unsupported URL scheme (expected `redis://`, `rediss://`, `valkey://` or \
                     `valkeys://`)",
                    "set it to the server's URL, e.g. `redis://127.0.0.1:6379` or \
                     `rediss://my-cache.cache.amazonaws.com:6379` (SERVICEKIT__CACHE__URL), or \
                     remove it",
                ));
            };
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(|h| !h.is_empty()));
            if host != Some(true) {
                return Err(InvalidSetting::new(
                    "cache.url",
                    "is not a URL with a host",
                    "write it as `redis://host:port/db`, e.g. `redis://127.0.0.1:6379/0`; \
                     percent-encode `@`, `:` and `/` in a password, or set cache.password",
                ));
            }
            if config.ca_file.is_some() && !tls {
                return Err(InvalidSetting::new(
                    "cache.ca_file",
                    "is set but cache.url does not use TLS",
                    "use a `rediss://` URL (SERVICEKIT__CACHE__URL), or remove cache.ca_file",
                ));
            }
        }
        None => {
            if config.username.is_some() {
                return Err(needs_url("cache.username"));
            }
            if config.password.is_some() {
                return Err(needs_url("cache.password"));
            }
            if config.ca_file.is_some() {
                return Err(needs_url("cache.ca_file"));
            }
        }
    }
    if let Some(prefix) = &config.prefix
        && (prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(InvalidSetting::new(
            "cache.prefix",
            "must be non-empty, without spaces or control characters",
            "set it to a short name such as `student-service` (SERVICEKIT__CACHE__PREFIX), or \
             remove it to use the service name",
        ));
    }
    positive("cache.default_ttl", config.default_ttl, "5m")?;
    positive("cache.negative_ttl", config.negative_ttl, "5s")?;
    positive("cache.timeout", config.timeout, "200ms")?;
    positive("cache.connect_timeout", config.connect_timeout, "1s")?;
    if config.breaker_failures == 0 {
        return Err(InvalidSetting::new(
            "cache.breaker_failures",
            "must be at least 1",
            "set it to the failed commands in a row after which the cache is skipped, e.g. `3` \
             (SERVICEKIT__CACHE__BREAKER_FAILURES)",
        ));
    }
    positive("cache.breaker_cooldown", config.breaker_cooldown, "1s")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> CacheConfig {
        CacheConfig {
            url: Some(url.into()),
            ..CacheConfig::default()
        }
    }

    #[test]
    fn defaults_and_the_usual_urls_are_valid() {
        assert_eq!(validate(&CacheConfig::default()), Ok(()));
        for url in [
            "redis://127.0.0.1:6379",
            "redis://:p%40ss@cache:6379/2",
            "rediss://user:pw@my-cache.abc.euw1.cache.amazonaws.com:6379",
            "valkey://valkey:6379",
            "valkeys://valkey:6380",
        ] {
            assert_eq!(validate(&with_url(url)), Ok(()), "{url}");
        }
    }

    #[test]
    fn broken_urls_name_cache_url() {
        for url in [
            "http://cache:6379",
            "127.0.0.1:6379",
            "redis://",
            "unix:///tmp/r.sock",
        ] {
            let e = validate(&with_url(url)).unwrap_err();
            assert_eq!(e.key, "cache.url", "{url}");
            assert!(e.fix.contains("SERVICEKIT__CACHE__URL") || e.fix.contains("redis://"));
        }
    }

    #[test]
    fn tls_and_credentials_need_their_url() {
        let plain_ca = CacheConfig {
            ca_file: Some("/ca.pem".into()),
            ..with_url("redis://cache:6379")
        };
        assert_eq!(validate(&plain_ca).unwrap_err().key, "cache.ca_file");
        let tls_ca = CacheConfig {
            ca_file: Some("/ca.pem".into()),
            ..with_url("rediss://cache:6379")
        };
        assert_eq!(validate(&tls_ca), Ok(()));
        let orphan = CacheConfig {
            password: Some("pw".into()),
            ..CacheConfig::default()
        };
        assert_eq!(validate(&orphan).unwrap_err().key, "cache.password");
    }

    #[test]
    fn durations_counts_and_prefixes_name_their_key() {
        let zero_timeout = CacheConfig {
            timeout: Duration::ZERO,
            ..CacheConfig::default()
        };
        let e = validate(&zero_timeout).unwrap_err();
        assert_eq!(e.key, "cache.timeout");
        assert!(e.fix.contains("SERVICEKIT__CACHE__TIMEOUT"), "{e}");
        let zero_failures = CacheConfig {
            breaker_failures: 0,
            ..CacheConfig::default()
        };
        assert_eq!(
            validate(&zero_failures).unwrap_err().key,
            "cache.breaker_failures"
        );
        let spaced = CacheConfig {
            prefix: Some("my service".into()),
            ..CacheConfig::default()
        };
        assert_eq!(validate(&spaced).unwrap_err().key, "cache.prefix");
    }
}
