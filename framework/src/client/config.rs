//! `[clients.<name>]`: one table per downstream service, every key with a default.

use std::time::Duration;

use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// Settings of one downstream, from `[clients.<name>]`.
///
/// Only the address is required: `base_url` or `instances`. [`docs/client.md`](https://github.com/servicekit/servicekit/blob/main/docs/client.md) explains each
/// default.
///
/// ```toml
/// [clients.student-service]
/// base_url = "http://student-service:8080"
/// attempt_timeout = "1s"
/// deadline = "3s"
///
/// [clients.student-service.breaker]
/// cooldown = "10s"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// The downstream's base URL, e.g. `http://student-service:8080`.
    pub base_url: Option<String>,
    /// A static list of instance base URLs, balanced across; when not empty it is used instead
    /// of `base_url`.
    pub instances: Vec<String>,
    /// How instances are found (default `static`).
    pub discovery: Discovery,
    /// With `discovery = "dns"`, how often `base_url`'s host is resolved again (default `30s`).
    #[serde(with = "humantime_serde")]
    pub dns_refresh: Duration,
    /// How an instance is chosen for each attempt (default `round-robin`).
    pub balance: Balance,
    /// Longest wait for a TCP (and TLS) connection (default `1s`).
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest a single attempt may take, body included (default `2s`).
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// Longest a whole call may take, retries and backoff included (default `5s`); an incoming
    /// request's own deadline shortens it.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// Largest answer body read, in bytes (default `10485760`, 10 MiB); a larger answer fails
    /// the call with [`ClientError::ResponseTooLarge`](super::ClientError::ResponseTooLarge)
    /// instead of filling the memory.
    pub max_response_bytes: u64,
    /// A PEM file of extra root certificates trusted for this downstream's `https://`
    /// certificates (a private CA), on top of the system's roots (default: none).
    pub ca_file: Option<std::path::PathBuf>,
    /// Forward the caller's `Authorization` header (default `false`: tokens only go where
    /// they are meant to; a token source set in code takes precedence either way).
    pub forward_authorization: bool,
    /// `[clients.<name>.retry]`.
    pub retry: RetryConfig,
    /// `[clients.<name>.breaker]`.
    pub breaker: BreakerConfig,
    /// `[clients.<name>.bulkhead]`.
    pub bulkhead: BulkheadConfig,
    /// `[clients.<name>.ejection]`.
    pub ejection: EjectionConfig,
    /// `[clients.<name>.tls]`: trusted CA and client certificate (mutual TLS).
    pub tls: super::ClientTlsConfig,
}

/// Default of `max_response_bytes`: 10 MiB, far above any JSON answer between services.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            instances: Vec::new(),
            discovery: Discovery::Static,
            dns_refresh: Duration::from_secs(30),
            balance: Balance::RoundRobin,
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            ca_file: None,
            forward_authorization: false,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
            bulkhead: BulkheadConfig::default(),
            ejection: EjectionConfig::default(),
            tls: super::ClientTlsConfig::default(),
        }
    }
}

impl ClientConfig {
    /// A configuration for `base_url` with every other key at its default.
    ///
    /// ```
    /// let config = servicekit::client::ClientConfig::new("http://127.0.0.1:8080");
    /// assert_eq!(config.retry.max_attempts, 3);
    /// ```
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: Some(base_url.into()),
            ..Self::default()
        }
    }
}

/// How the instances of a downstream are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// `base_url` or the `instances` list, as written.
    Static,
    /// `base_url`'s host is resolved every `dns_refresh`, each address becoming an instance
    /// (Kubernetes headless services, ECS service discovery).
    Dns,
}

/// How an instance is chosen for each attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    /// Each instance in turn.
    RoundRobin,
    /// Two instances at random, the one with fewer calls in flight ("power of two choices").
    P2c,
}

/// `[clients.<name>.retry]`: which failures are retried, how often and how fast.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per call, the first included (default `3`; `1` disables retries).
    pub max_attempts: u32,
    /// Backoff before the first retry is random in `[0, base_backoff]` (default `50ms`), and
    /// the range doubles per retry ("full jitter").
    #[serde(with = "humantime_serde")]
    pub base_backoff: Duration,
    /// Upper bound of the backoff range (default `1s`).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Retries allowed as a fraction of recent calls (default `0.2`).
    pub budget_percent: f32,
    /// Retries allowed per second whatever the traffic, for quiet clients (default `10`).
    pub budget_min_per_second: u32,
    /// How far back "recent" reaches, 1s to 60s (default `10s`).
    #[serde(with = "humantime_serde")]
    pub budget_ttl: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            budget_percent: 0.2,
            budget_min_per_second: 10,
            budget_ttl: Duration::from_secs(10),
        }
    }
}

/// `[clients.<name>.breaker]`: when to stop calling a failing downstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Whether the breaker is used at all (default `true`).
    pub enabled: bool,
    /// Open when at least this fraction of the last `window` calls failed (default `0.5`).
    pub failure_rate: f32,
    /// Number of most recent calls the failure rate is computed over (default `20`).
    pub window: u32,
    /// The failure rate is only considered with this many calls in the window (default `10`).
    pub min_calls: u32,
    /// Open after this many failures in a row, whatever the rate (default `5`).
    pub consecutive_failures: u32,
    /// How long the breaker stays open before letting probes through (default `5s`).
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Probe calls let through when half-open; all must succeed to close (default `2`).
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_rate: 0.5,
            window: 20,
            min_calls: 10,
            consecutive_failures: 5,
            cooldown: Duration::from_secs(5),
            half_open_probes: 2,
        }
    }
}

/// `[clients.<name>.bulkhead]`: the most calls in flight to this downstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkheadConfig {
    /// Attempts in flight at once (default `64`).
    pub max_concurrent: u32,
    /// How long an excess attempt waits for a slot before failing (default `0s`: at once).
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 64,
            max_wait: Duration::ZERO,
        }
    }
}

/// `[clients.<name>.ejection]`: passive outlier detection per instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EjectionConfig {
    /// An instance failing this many attempts in a row is taken out (default `5`; `0` never).
    pub consecutive_failures: u32,
    /// How long an ejected instance gets no traffic (default `30s`).
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl Default for EjectionConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            duration: Duration::from_secs(30),
        }
    }
}

/// Checks the rules serde cannot express; the key of the first broken one is relative to
/// `clients.<name>`.
pub(crate) fn validate(config: &ClientConfig) -> Result<(), InvalidSetting> {
    let fail = |key: &str, msg: &str, fix: &str| Err(InvalidSetting::new(key, msg, fix));
    let duration = |key: &str, example: &str| {
        fail(
            key,
            "must be longer than 0s",
            &format!("set it to a duration such as `{example}`"),
        )
    };
    if config.base_url.is_none() && config.instances.is_empty() {
        return fail(
            "base_url",
            "not set: give `base_url` or `instances`",
            "set base_url to the downstream's address, e.g. `http://student-service:8080` \
             (SERVICEKIT__CLIENTS__<NAME>__BASE_URL), or list instances",
        );
    }
    if config.discovery == Discovery::Dns && !config.instances.is_empty() {
        return fail(
            "discovery",
            "`dns` resolves `base_url`'s host; it cannot be used with `instances`",
            "remove instances and keep base_url for `dns`, or set discovery = \"static\"",
        );
    }
    for (key, url) in config
        .base_url
        .iter()
        .map(|u| ("base_url", u))
        .chain(config.instances.iter().map(|u| ("instances", u)))
    {
        if let Err(e) = super::discovery::parse_base(url) {
            return fail(
                key,
                &format!("`{url}`: {e}"),
                "give an http(s) URL with a host, e.g. `http://student-service:8080`",
            );
        }
    }
    if config.dns_refresh.is_zero() {
        return duration("dns_refresh", "30s");
    }
    for (key, d, example) in [
        ("connect_timeout", config.connect_timeout, "2s"),
        ("attempt_timeout", config.attempt_timeout, "5s"),
        ("deadline", config.deadline, "10s"),
    ] {
        if d.is_zero() {
            return duration(key, example);
        }
    }
    if config.max_response_bytes == 0 {
        return fail(
            "max_response_bytes",
            "must be at least 1",
            "set it to the largest response body in bytes, e.g. `10485760` for 10 MiB",
        );
    }
    let r = &config.retry;
    if r.max_attempts == 0 {
        return fail(
            "retry.max_attempts",
            "must be at least 1",
            "set it to the calls made in all, e.g. `3`, or `1` for no retries",
        );
    }
    if r.base_backoff > r.max_backoff {
        return fail(
            "retry.base_backoff",
            "must not exceed retry.max_backoff",
            "lower retry.base_backoff or raise retry.max_backoff, e.g. `50ms` and `2s`",
        );
    }
    if !(0.0..=1000.0).contains(&r.budget_percent) {
        return fail(
            "retry.budget_percent",
            "must be between 0 and 1000",
            "set it to the retries allowed per 100 calls, e.g. `20`",
        );
    }
    if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&r.budget_ttl) {
        return fail(
            "retry.budget_ttl",
            "must be between 1s and 60s",
            "set it to the window the budget counts over, e.g. `10s`",
        );
    }
    let b = &config.breaker;
    if !(b.failure_rate > 0.0 && b.failure_rate <= 1.0) {
        return fail(
            "breaker.failure_rate",
            "must be in (0, 1]",
            "set it to the share of failed calls that opens the breaker, e.g. `0.5`",
        );
    }
    if b.window == 0 || b.min_calls == 0 || b.min_calls > b.window {
        return fail(
            "breaker.min_calls",
            "must be at least 1 and at most breaker.window",
            "set it to the calls needed before the rate counts, e.g. `10` with window `20`",
        );
    }
    if b.half_open_probes == 0 {
        return fail(
            "breaker.half_open_probes",
            "must be at least 1",
            "set it to the trial calls let through when the breaker half-opens, e.g. `1`",
        );
    }
    if config.bulkhead.max_concurrent == 0 {
        return fail(
            "bulkhead.max_concurrent",
            "must be at least 1",
            "set it to the most calls in flight to this downstream, e.g. `64`",
        );
    }
    match (&config.tls.cert_file, &config.tls.key_file) {
        (Some(_), None) => fail(
            "tls.key_file",
            "not set: tls.cert_file needs its private key",
            "set tls.key_file to the client certificate's private key (PEM), or remove \
             tls.cert_file",
        ),
        (None, Some(_)) => fail(
            "tls.cert_file",
            "not set: tls.key_file needs its certificate",
            "set tls.cert_file to the client certificate (PEM), or remove tls.key_file",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_address_is_required() {
        assert!(validate(&ClientConfig::new("http://127.0.0.1:1")).is_ok());
        assert_eq!(
            validate(&ClientConfig::default()).unwrap_err().key,
            "base_url"
        );
        let mut c = ClientConfig::new("http://x");
        c.retry.budget_ttl = Duration::from_secs(120);
        assert_eq!(validate(&c).unwrap_err().key, "retry.budget_ttl");
        let c = ClientConfig::new("ftp://x");
        assert_eq!(validate(&c).unwrap_err().key, "base_url");
    }
}
