//! The `[rate_limit]` configuration section and the checks serde cannot express.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::Method;
use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[rate_limit]`: per-client request throttling (see [`docs/rate-limiting.md`](https://github.com/servicekit/servicekit/blob/main/docs/rate-limiting.md)).
///
/// Disabled by default. When enabled, every client gets a token bucket of `burst` requests
/// that refills at `per_second`; routes listed under `routes` get their own bucket per client.
///
/// ```toml
/// [rate_limit]
/// enabled = true
/// per_second = 10
/// burst = 20
/// key = "subject"
///
/// [rate_limit.routes."POST /students"]
/// per_second = 1
/// burst = 5
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Whether requests are throttled (default `false`).
    pub enabled: bool,
    /// Requests per second each client may make on average (default `50`; fractions such as
    /// `0.5` allowed).
    pub per_second: f64,
    /// Requests a client may make at once after being idle (default `100`).
    pub burst: u32,
    /// What identifies a client (default `ip`).
    pub key: KeyKind,
    /// The header carrying the API key when `key = "api_key"` (default `x-api-key`).
    pub api_key_header: String,
    /// Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed
    /// (default: none, so the header is ignored and the peer address is the client).
    pub trusted_proxies: Vec<String>,
    /// Limits for single routes, keyed by `"METHOD /route/template"` as written in the router,
    /// e.g. `"POST /students"` or `"GET /students/{id}"`.
    pub routes: BTreeMap<String, RouteLimit>,
    /// Where the buckets live (default `local`: in this process; `redis`: in Redis, shared by
    /// every replica, through the `[cache]` connection).
    pub store: StoreKind,
    /// Namespace of the Redis keys when `store = "redis"` (default: the service name). Replicas
    /// with the same prefix share their budgets; keys look like `{prefix}:rl:{route}:{client}`.
    pub prefix: Option<String>,
    /// What a request gets when the Redis store fails or is slower than `store_timeout`
    /// (default `fail_open`).
    pub on_store_error: StoreErrorPolicy,
    /// How long a request waits for the Redis store before `on_store_error` applies
    /// (default `50ms`).
    #[serde(with = "humantime_serde")]
    pub store_timeout: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            per_second: 50.0,
            burst: 100,
            key: KeyKind::Ip,
            api_key_header: "x-api-key".into(),
            trusted_proxies: Vec::new(),
            routes: BTreeMap::new(),
            store: StoreKind::Local,
            prefix: None,
            on_store_error: StoreErrorPolicy::FailOpen,
            store_timeout: Duration::from_millis(50),
        }
    }
}

/// Where the buckets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// In this process (governor): each replica has its own budget per client.
    Local,
    /// In Redis (the `[cache]` connection, feature `cache`): one budget per client across all
    /// replicas with the same `prefix`, one round trip per request.
    Redis,
}

/// What a request gets when the Redis store cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorPolicy {
    /// The request passes unthrottled (without `RateLimit-*` headers); the failure is counted
    /// in `servicekit_rate_limit_store_errors_total` and logged at warn, at most every 10 s.
    FailOpen,
    /// The request is answered `503 Service Unavailable` (problem+json, `Retry-After: 1`);
    /// counted and logged the same way.
    FailClosed,
}

impl StoreErrorPolicy {
    /// The policy as written in the configuration (`fail_open`, `fail_closed`), the label of
    /// the store-error metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailOpen => "fail_open",
            Self::FailClosed => "fail_closed",
        }
    }
}

/// What identifies a client, i.e. which requests share a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The client's IP address: the peer address, or the `X-Forwarded-For` entry added by the
    /// nearest untrusted hop when the peer is one of `trusted_proxies`.
    Ip,
    /// The verified token's `sub` claim (the layer must run inside the auth layer); requests
    /// without a verified principal fall back to the IP address.
    Subject,
    /// The verified token's `client_id` (or `azp`) claim; falls back like `subject`.
    ClientId,
    /// The value of the `api_key_header` header; requests without it fall back to the IP
    /// address. The key itself is not kept, only a keyed hash of it.
    ApiKey,
}

/// The limit of one route, under `[rate_limit.routes."METHOD /template"]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteLimit {
    /// Requests per second each client may make on this route.
    pub per_second: f64,
    /// Requests a client may make at once on this route.
    pub burst: u32,
}

/// Checks the values serde cannot; used at startup whether or not the section is enabled, so a
/// mistake shows before someone switches it on.
pub(crate) fn validate(config: &RateLimitConfig) -> Result<(), InvalidSetting> {
    rate("rate_limit", config.per_second, config.burst)?;
    if axum::http::HeaderName::from_bytes(config.api_key_header.as_bytes()).is_err() {
        return Err(InvalidSetting::new(
            "rate_limit.api_key_header",
            format!("`{}` is not a valid header name", config.api_key_header),
            "set it to the header that carries the client's API key, e.g. `x-api-key` \
             (SERVICEKIT__RATE_LIMIT__API_KEY_HEADER)",
        ));
    }
    for (i, proxy) in config.trusted_proxies.iter().enumerate() {
        if parse_net(proxy).is_none() {
            return Err(InvalidSetting::new(
                format!("rate_limit.trusted_proxies[{i}]"),
                format!("`{proxy}` is not an IP address or CIDR range"),
                "list the load balancers whose `x-forwarded-for` is trusted as addresses or \
                 CIDR ranges, e.g. `[\"10.0.0.0/8\"]`",
            ));
        }
    }
    if let Some(prefix) = &config.prefix
        && (prefix.is_empty() || prefix.contains(|c: char| c.is_whitespace() || c.is_control()))
    {
        return Err(InvalidSetting::new(
            "rate_limit.prefix",
            format!("`{prefix}` is not a usable key prefix (empty, or with spaces)"),
            "set it to a short name shared by the replicas that share a budget, e.g. \
             `student-service` (SERVICEKIT__RATE_LIMIT__PREFIX), or remove it to use the \
             service name",
        ));
    }
    if config.store_timeout.is_zero() || config.store_timeout > Duration::from_secs(5) {
        return Err(InvalidSetting::new(
            "rate_limit.store_timeout",
            format!(
                "must be between 1ms and 5s, not {}",
                humantime::format_duration(config.store_timeout)
            ),
            "set it to how long a request may wait for Redis, e.g. `50ms` \
             (SERVICEKIT__RATE_LIMIT__STORE_TIMEOUT)",
        ));
    }
    if config.store == StoreKind::Redis {
        redis_rate("rate_limit", config.per_second)?;
    }
    for (route, limit) in &config.routes {
        let key = format!("rate_limit.routes.{route}");
        parse_route(route).map_err(|message| {
            InvalidSetting::new(
                &key,
                message,
                "name the route as `\"METHOD /template\"`, the method and the path template \
                 of the route as registered, e.g. `[rate_limit.routes.\"POST /students\"]`",
            )
        })?;
        rate(&key, limit.per_second, limit.burst)?;
        if config.store == StoreKind::Redis {
            redis_rate(&key, limit.per_second)?;
        }
    }
    Ok(())
}

/// The check across sections: the Redis store needs the `[cache]` connection. `cache_url_set`
/// says whether `cache.url` is set (the loader, which sees both sections, passes it).
pub(crate) fn validate_store(
    config: &RateLimitConfig,
    cache_url_set: bool,
) -> Result<(), InvalidSetting> {
    if config.store == StoreKind::Redis && !cache_url_set {
        return Err(InvalidSetting::new(
            "rate_limit.store",
            "is `redis` but cache.url is not set, so there is no Redis to keep the buckets in",
            "set cache.url to the Redis the replicas share, e.g. `redis://redis:6379` \
             (SERVICEKIT__CACHE__URL), or set rate_limit.store = \"local\"",
        ));
    }
    Ok(())
}

/// The Redis store counts time in whole microseconds (Lua numbers are doubles), so it refuses
/// rates it would round to a different one.
fn redis_rate(prefix: &str, per_second: f64) -> Result<(), InvalidSetting> {
    if per_second > 1e6 {
        return Err(InvalidSetting::new(
            format!("{prefix}.per_second"),
            format!("`{per_second}` is more than the Redis store's 1e6 requests per second"),
            "set it to at most `1000000`, or use `rate_limit.store = \"local\"`",
        ));
    }
    Ok(())
}

/// The refill period of `per_second`, once validated (for the Redis store).
#[cfg(all(feature = "rate-limit", feature = "cache"))]
pub(crate) fn period(per_second: f64) -> Duration {
    Duration::from_secs_f64(1.0 / per_second.clamp(1.0 / 86_400.0, 1e9))
}

/// The governor quota for `per_second` and `burst`, or an error naming `prefix.per_second` or
/// `prefix.burst`.
#[cfg(feature = "rate-limit")]
pub(crate) fn quota(
    prefix: &str,
    per_second: f64,
    burst: u32,
) -> Result<governor::Quota, InvalidSetting> {
    let (period, burst) = rate(prefix, per_second, burst)?;
    governor::Quota::with_period(period)
        .map(|q| q.allow_burst(burst))
        .ok_or_else(|| {
            InvalidSetting::new(
                format!("{prefix}.per_second"),
                "is too large",
                "set it to at most `1e9` requests per second, e.g. `100`",
            )
        })
}

/// The refill period and bucket size for `per_second` and `burst`, or an error naming
/// `prefix.per_second` or `prefix.burst`.
fn rate(
    prefix: &str,
    per_second: f64,
    burst: u32,
) -> Result<(Duration, NonZeroU32), InvalidSetting> {
    // At most one request per day and at most a billion per second: beyond that the period
    // cannot be represented sensibly (and a typo is far more likely).
    if !(per_second.is_finite() && (1.0 / 86_400.0..=1e9).contains(&per_second)) {
        return Err(InvalidSetting::new(
            format!("{prefix}.per_second"),
            format!(
                "must be a number of requests per second, at least 1 per day, not `{per_second}`"
            ),
            "set it to the sustained requests per second a client may make, e.g. `10`, or \
             `0.5` for one every 2 seconds",
        ));
    }
    let Some(burst) = NonZeroU32::new(burst) else {
        return Err(InvalidSetting::new(
            format!("{prefix}.burst"),
            "must be at least 1",
            "set it to the requests a client may make at once before the per-second rate \
             applies, e.g. `20`",
        ));
    };
    let period = Duration::from_secs_f64(1.0 / per_second);
    if period.is_zero() {
        return Err(InvalidSetting::new(
            format!("{prefix}.per_second"),
            "is too large",
            "set it to at most `1e9` requests per second, e.g. `100`",
        ));
    }
    Ok((period, burst))
}

/// Splits a route key `"METHOD /template"` into its method and template.
pub(crate) fn parse_route(route: &str) -> Result<(Method, String), String> {
    let fix = "write it as `METHOD /route/template`, e.g. `POST /students` or `GET /students/{id}`";
    let Some((method, template)) = route.split_once(' ') else {
        return Err(format!("`{route}` has no method; {fix}"));
    };
    let template = template.trim();
    let valid_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    let method = match Method::from_bytes(method.as_bytes()) {
        Ok(m) if valid_method => m,
        _ => {
            return Err(format!(
                "`{method}` is not an upper-case HTTP method; {fix}"
            ));
        }
    };
    if !template.starts_with('/') || template.contains(char::is_whitespace) {
        return Err(format!("`{template}` is not a route template; {fix}"));
    }
    Ok((method, template.to_string()))
}

/// An IP address (a one-address range) or a CIDR range.
pub(crate) fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: serde_json::Value) -> RateLimitConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_are_disabled_and_valid() {
        let c = RateLimitConfig::default();
        assert!(!c.enabled);
        assert!(validate(&c).is_ok());
    }

    #[test]
    fn zero_rate_and_burst_name_their_key() {
        let e = validate(&config(serde_json::json!({"per_second": 0}))).unwrap_err();
        assert_eq!(e.key, "rate_limit.per_second");
        let e = validate(&config(serde_json::json!({"burst": 0}))).unwrap_err();
        assert_eq!(e.key, "rate_limit.burst");
        let e = validate(&config(serde_json::json!({
            "routes": {"POST /students": {"per_second": 1, "burst": 0}}
        })))
        .unwrap_err();
        assert_eq!(e.key, "rate_limit.routes.POST /students.burst");
    }

    #[test]
    fn malformed_route_keys_are_rejected() {
        for bad in [
            "/students",
            "post /students",
            "POST students",
            "GET /a b",
            "P-ST /x",
        ] {
            let e = validate(&config(serde_json::json!({
                "routes": {bad: {"per_second": 1, "burst": 1}}
            })))
            .unwrap_err();
            assert!(e.key.starts_with("rate_limit.routes."), "{bad}: {e}");
            assert!(e.message.contains("METHOD /route/template"), "{bad}: {e}");
        }
        assert_eq!(
            parse_route("GET /students/{id}").unwrap(),
            (Method::GET, "/students/{id}".to_string())
        );
    }

    #[test]
    fn unknown_key_kinds_and_fields_fail_to_deserialize() {
        let e = serde_json::from_value::<RateLimitConfig>(serde_json::json!({"key": "user"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown variant `user`") && e.contains("client_id"),
            "{e}"
        );
        assert!(serde_json::from_value::<RateLimitConfig>(serde_json::json!({"rate": 1})).is_err());
    }

    #[test]
    fn store_settings_are_read_and_checked() {
        let c = config(serde_json::json!({"store": "redis", "prefix": "students",
            "on_store_error": "fail_closed", "store_timeout": "20ms"}));
        assert_eq!(c.store, StoreKind::Redis);
        assert_eq!(c.on_store_error, StoreErrorPolicy::FailClosed);
        assert_eq!(c.store_timeout, Duration::from_millis(20));
        assert!(validate(&c).is_ok());
        let d = RateLimitConfig::default();
        assert_eq!(
            (d.store, d.on_store_error, d.prefix),
            (StoreKind::Local, StoreErrorPolicy::FailOpen, None)
        );
        for (bad, key) in [
            (serde_json::json!({"prefix": ""}), "rate_limit.prefix"),
            (serde_json::json!({"prefix": "a b"}), "rate_limit.prefix"),
            (
                serde_json::json!({"store_timeout": "0s"}),
                "rate_limit.store_timeout",
            ),
            (
                serde_json::json!({"store_timeout": "1m"}),
                "rate_limit.store_timeout",
            ),
            (
                serde_json::json!({"store": "redis", "per_second": 2e6}),
                "rate_limit.per_second",
            ),
            (
                serde_json::json!({"store": "redis",
                    "routes": {"GET /x": {"per_second": 2e6, "burst": 1}}}),
                "rate_limit.routes.GET /x.per_second",
            ),
        ] {
            assert_eq!(
                validate(&config(bad.clone())).unwrap_err().key,
                key,
                "{bad}"
            );
        }
        // The local store takes any rate governor can represent.
        assert!(validate(&config(serde_json::json!({"per_second": 2e6}))).is_ok());
        let e =
            serde_json::from_value::<RateLimitConfig>(serde_json::json!({"store": "memcached"}))
                .unwrap_err()
                .to_string();
        assert!(e.contains("redis"), "{e}");
    }

    #[test]
    fn the_redis_store_needs_cache_url() {
        let c = config(serde_json::json!({"store": "redis"}));
        let e = validate_store(&c, false).unwrap_err();
        assert_eq!(e.key, "rate_limit.store");
        assert!(e.to_string().contains("cache.url"), "{e}");
        assert!(validate_store(&c, true).is_ok());
        assert!(validate_store(&RateLimitConfig::default(), false).is_ok());
    }

    #[test]
    fn proxies_and_header_names_are_checked() {
        let e = validate(&config(
            serde_json::json!({"trusted_proxies": ["10.0.0.0/8", "lb"]}),
        ))
        .unwrap_err();
        assert_eq!(e.key, "rate_limit.trusted_proxies[1]");
        let e = validate(&config(serde_json::json!({"api_key_header": "x api"}))).unwrap_err();
        assert_eq!(e.key, "rate_limit.api_key_header");
        assert_eq!(parse_net("10.1.2.3").unwrap().prefix_len(), 32);
        assert!(parse_net("fd00::/8").is_some());
    }
}
