//! The one Redis connection of a service: a `redis::aio::ConnectionManager` (one multiplexed
//! connection, reconnected in the background with backoff), with a timeout on every command
//! and the breaker in front of it.
//!
//! The manager is created lazily, so a service starts while Redis is down: startup tries one
//! `PING` within `cache.connect_timeout`, logs a warning when it fails, and the manager keeps
//! reconnecting whenever a command finds the connection broken. Other modules (the cluster-wide
//! rate limiter) share the same connection through [`Connection::manager`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue, IntoConnectionInfo, TlsCertificates};
use secrecy::ExposeSecret;

use super::breaker::Breaker;
use super::config::{CacheConfig, uses_tls};
use super::error::CacheError;
use super::metrics::{self, Operation, Reason};
use crate::db::redact_url;
use crate::invalid::InvalidSetting;

/// The shared connection, cheap to clone.
#[derive(Clone)]
pub(crate) struct Connection {
    manager: ConnectionManager,
    timeout: Duration,
    breaker: Arc<Breaker>,
    /// `cache.url` without its password, for messages.
    target: Arc<str>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The manager for `config` (whose `url` is set), not connected yet. A URL the `redis`
    /// crate refuses or an unreadable `cache.ca_file` is an error naming the key.
    pub(crate) fn new(config: &CacheConfig) -> Result<Self, InvalidSetting> {
        let url = config
            .url
            .as_ref()
            .map(|u| u.expose_secret().to_string())
            .unwrap_or_default();
        let target: Arc<str> = redact_url(&url).into();
        let info = url.as_str().into_connection_info().map_err(|e| {
            InvalidSetting::new(
                "cache.url",
                format!("the redis client refuses {target}: {e}"),
                "write it as `redis://host:port/db` or `rediss://host:port/db`",
            )
        })?;
        let mut settings = info.redis_settings().clone();
        if let Some(username) = &config.username {
            settings = settings.set_username(username.expose_secret());
        }
        if let Some(password) = &config.password {
            settings = settings.set_password(password.expose_secret());
        }
        let info = info.set_redis_settings(settings);
        if uses_tls(&url) == Some(true) {
            install_crypto_provider();
        }
        let client = match &config.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    InvalidSetting::new(
                        "cache.ca_file",
                        format!("cannot read `{}`: {e}", path.display()),
                        "point it at a readable PEM file with the CA certificate of the server",
                    )
                })?;
                let certificates = TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                Client::build_with_tls(info, certificates)
            }
            None => Client::open(info),
        }
        .map_err(|e| {
            InvalidSetting::new(
                "cache.url",
                format!("the redis client refuses {target}: {e}"),
                "check the URL and cache.ca_file",
            )
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.timeout))
            // Reconnection backoff: 50 ms doubling, at most 1 s apart; when the attempts run
            // out, the next command starts another round.
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(4);
        let manager =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(|e| {
                InvalidSetting::new(
                    "cache.url",
                    format!("cannot create the connection to {target}: {e}"),
                    "check the URL",
                )
            })?;
        Ok(Self {
            manager,
            timeout: config.timeout,
            breaker: Arc::new(Breaker::new(
                config.breaker_failures,
                config.breaker_cooldown,
            )),
            target,
        })
    }

    /// The shared connection manager, for other modules that talk to the same Redis (the
    /// cluster-wide rate limiter). Cloning it is cheap and shares the one connection; bound
    /// each command with [`Connection::timeout`] yourself.
    pub(crate) fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// `cache.timeout`: the longest a command may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `cache.url` with its password redacted.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Whether the breaker is skipping Redis now.
    pub(crate) fn is_skipping(&self) -> bool {
        self.breaker.is_open()
    }

    /// `PING` within `within`, past the breaker (readiness and startup want the truth).
    pub(crate) async fn ping(&self, within: Duration) -> Result<(), CacheError> {
        let mut manager = self.manager.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(within, ping.query_async::<String>(&mut manager)).await {
            Ok(Ok(_)) => {
                self.breaker.success();
                Ok(())
            }
            Ok(Err(e)) => Err(CacheError::Redis(e)),
            Err(_) => Err(CacheError::Timeout(within)),
        }
    }

    /// Runs `command` through the breaker, within `cache.timeout`, recording its latency and
    /// failure.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        operation: Operation,
        command: &redis::Cmd,
    ) -> Result<T, CacheError> {
        if !self.breaker.allow() {
            metrics::failed(operation, Reason::Open);
            return Err(CacheError::Unavailable);
        }
        let mut manager = self.manager.clone();
        let started = Instant::now();
        let outcome =
            tokio::time::timeout(self.timeout, command.query_async::<T>(&mut manager)).await;
        metrics::duration(operation, started.elapsed());
        let error = match outcome {
            Ok(Ok(value)) => {
                self.breaker.success();
                return Ok(value);
            }
            Ok(Err(e)) if e.is_timeout() => CacheError::Timeout(self.timeout),
            Ok(Err(e)) => CacheError::Redis(e),
            Err(_) => CacheError::Timeout(self.timeout),
        };
        self.breaker.failure();
        metrics::failed(operation, reason_of(&error));
        tracing::debug!(target = %self.target, operation = operation.as_str(), error = %error, "cache command failed");
        Err(error)
    }
}

/// The metric reason for `error`.
pub(crate) fn reason_of(error: &CacheError) -> Reason {
    match error {
        CacheError::Unavailable => Reason::Open,
        CacheError::Timeout(_) => Reason::Timeout,
        CacheError::Redis(_) | CacheError::Encode(_) => Reason::Error,
    }
}

/// The `redis` crate builds its rustls configuration with the process-wide default provider;
/// install aws-lc-rs, the one provider of servicekit's tree (`tls::source`), unless the
/// application installed one already.
fn install_crypto_provider() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
}
