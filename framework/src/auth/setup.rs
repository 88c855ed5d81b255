//! Auth as a running service sets it up from `[auth]`: the verifier layer with its readiness
//! check, and the named outgoing token sources.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::{AuthConfig, AuthConfigError};
use super::{AuthLayer, ClientCredentials, TokenSource, Verifier};
use crate::health::Health;

/// What the service's [`Context`](crate::Context) holds of auth.
#[derive(Clone)]
pub(crate) struct AuthRuntime {
    pub(crate) layer: AuthLayer,
    pub(crate) clients: BTreeMap<String, Arc<ClientCredentials>>,
}

impl std::fmt::Debug for AuthRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRuntime")
            .field("enabled", &self.layer.is_enabled())
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthRuntime {
    /// Builds auth from `config` for the service `service_name`, registering the key
    /// readiness check with `health`. Without issuers, verification is off and a WARN says so.
    pub(crate) async fn start(
        config: &AuthConfig,
        service_name: &str,
        health: &Health,
    ) -> Result<Self, AuthConfigError> {
        let layer = if config.is_enabled() {
            let mut config = config.clone();
            config.realm.get_or_insert_with(|| service_name.to_string());
            let verifier = Verifier::new(&config).await?;
            if let Some(check) = verifier.health_check() {
                health.register(check);
            }
            tracing::info!(
                issuers = config.issuers.len(),
                "auth enabled: every request needs a valid bearer token"
            );
            verifier.layer()
        } else {
            tracing::warn!(
                "auth is DISABLED: requests are not authenticated and scope checks pass; \
                 configure [[auth.issuers]] (docs/auth.md) before exposing this service"
            );
            AuthLayer::disabled()
        };
        let mut clients = BTreeMap::new();
        for (name, client) in &config.clients {
            let source = ClientCredentials::with_timeout(client.clone(), config.http_timeout)
                .map_err(|e| {
                    AuthConfigError::new(format!("auth.clients.{name}.{}", e.key), e.message, e.fix)
                })?;
            clients.insert(name.clone(), Arc::new(source));
        }
        Ok(Self { layer, clients })
    }

    /// The token source configured as `[auth.clients.NAME]`.
    pub(crate) fn token_source(&self, name: &str) -> Result<Arc<dyn TokenSource>, UnknownClient> {
        self.clients
            .get(name)
            .map(|c| c.clone() as Arc<dyn TokenSource>)
            .ok_or_else(|| UnknownClient {
                name: name.to_string(),
                known: self.clients.keys().cloned().collect(),
            })
    }
}

/// [`Context::token_source`](crate::Context::token_source) named a client that is not configured.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "no outgoing token source `{name}`: add [auth.clients.{name}] to the configuration (configured: {known:?})"
)]
pub struct UnknownClient {
    name: String,
    known: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn without_issuers_auth_is_disabled() {
        let health = Health::new(Duration::from_secs(1));
        let auth = AuthRuntime::start(&AuthConfig::default(), "svc", &health)
            .await
            .unwrap();
        assert!(!auth.layer.is_enabled());
        let err = auth.token_source("students").err().unwrap().to_string();
        assert!(err.contains("[auth.clients.students]"), "{err}");
    }

    #[tokio::test]
    async fn issuers_enable_it_with_the_service_as_realm() {
        let config: AuthConfig = serde_json::from_value(serde_json::json!({
            "algorithms": ["HS256"],
            "issuers": [{"issuer": "i", "audiences": ["a"],
                         "hs_secret": "0123456789abcdef0123456789abcdef"}],
            "clients": {"students": {"token_url": "http://127.0.0.1:9/token", "client_id": "me"}},
        }))
        .unwrap();
        let health = Health::new(Duration::from_secs(1));
        let auth = AuthRuntime::start(&config, "svc", &health).await.unwrap();
        assert_eq!(auth.layer.verifier().unwrap().realm(), "svc");
        assert!(auth.token_source("students").is_ok());
    }
}
