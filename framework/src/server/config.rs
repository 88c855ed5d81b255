//! The `[server]` configuration section and the rules serde cannot express.

use std::time::Duration;

use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[server]`: the HTTP listener, request limits and shutdown timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Interface to bind (default `0.0.0.0`).
    pub host: String,
    /// Port to bind (default `8080`; `PORT` sets it too; `0` picks a free port).
    pub port: u16,
    /// Longest a request may take before it is answered with 503, or 408 while the client is
    /// still sending its body (default `30s`); it also caps a caller's deadline.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (default 1 MiB); larger bodies get 413.
    pub body_limit: usize,
    /// After SIGTERM, how long readiness reports 503 while requests are still served, so that
    /// load balancers stop routing here (default `5s`; skipped on SIGINT).
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// After the drain delay, how long in-flight requests may take to finish (default `30s`).
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// A second port for the operational endpoints (health probes, `/metrics`); unset (the
    /// default) serves them on the main port.
    pub admin_port: Option<u16>,
    /// Longest a new connection may take to send its first complete request head, counted
    /// from its accept; slower or silent connections are closed (default `10s`).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Longest a kept-alive HTTP/1 connection may wait for its next request and take to send
    /// its head, counted from the end of the previous response (default `75s`: longer than the
    /// 60 s idle timeout of AWS load balancers, so the balancer closes idle connections first
    /// and never sends a request on one the service is closing).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most connections served at once, per listener; further ones wait in the listen backlog
    /// until one closes (default `10000`; `0` means no limit).
    pub max_connections: usize,
    /// Addresses or CIDR ranges (e.g. `["10.0.0.0/8"]`) of peers whose `x-request-deadline-ms`
    /// is honoured as sent (default: none). List the networks of your own services, never
    /// that of a load balancer that forwards outside clients.
    pub deadline_trusted_networks: Vec<String>,
    /// Whether a caller whose verified token is a service (client credentials) token may set
    /// `x-request-deadline-ms` (default `true`); see `Principal::is_service`.
    pub deadline_trust_service_tokens: bool,
    /// `[server.tls]`: serve the main listener over TLS (feature `tls`; default: plain HTTP).
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
            drain_delay: super::DEFAULT_DRAIN_DELAY,
            shutdown_timeout: super::DEFAULT_SHUTDOWN_TIMEOUT,
            admin_port: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 10_000,
            deadline_trusted_networks: Vec::new(),
            deadline_trust_service_tokens: true,
            tls: None,
        }
    }
}

/// Checks the rules serde cannot express; the first broken one names its key.
pub(crate) fn validate(config: &ServerConfig) -> Result<(), InvalidSetting> {
    if config.body_limit == 0 {
        return Err(InvalidSetting::new(
            "server.body_limit",
            "must be at least 1 byte",
            "set it to the largest request body in bytes, e.g. `1048576` for 1 MiB \
             (SERVICEKIT__SERVER__BODY_LIMIT)",
        ));
    }
    for (key, duration) in [
        ("server.request_timeout", config.request_timeout),
        ("server.header_read_timeout", config.header_read_timeout),
        ("server.idle_timeout", config.idle_timeout),
    ] {
        if duration.is_zero() {
            return Err(InvalidSetting::new(
                key,
                "must be longer than 0s",
                format!(
                    "set it to a duration such as `30s` or `2m` (SERVICEKIT__{})",
                    key.to_ascii_uppercase().replace('.', "__")
                ),
            ));
        }
    }
    for (i, net) in config.deadline_trusted_networks.iter().enumerate() {
        if super::rate_limit::parse_net(net).is_none() {
            return Err(InvalidSetting::new(
                format!("server.deadline_trusted_networks[{i}]"),
                format!("`{net}` is not an IP address or CIDR range"),
                "list the networks whose `x-request-deadline` is trusted as addresses or CIDR \
                 ranges, e.g. `[\"10.0.0.0/8\", \"192.168.1.5\"]`",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_their_key() {
        assert_eq!(validate(&ServerConfig::default()), Ok(()));
        let zero = ServerConfig {
            idle_timeout: Duration::ZERO,
            ..ServerConfig::default()
        };
        assert_eq!(validate(&zero).unwrap_err().key, "server.idle_timeout");
        let bad_net = ServerConfig {
            deadline_trusted_networks: vec!["10.0.0.0/8".into(), "intranet".into()],
            ..ServerConfig::default()
        };
        let err = validate(&bad_net).unwrap_err();
        assert_eq!(err.key, "server.deadline_trusted_networks[1]");
        assert!(err.message.contains("`intranet`"), "{}", err.message);
    }
}
