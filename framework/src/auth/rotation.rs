//! Following rotated secrets behind `[auth]`: when the secret store's refresh finds a new value
//! for an issuer's `hs_secret` or `pem`, or a client's `client_secret`, it is applied without a
//! restart (the way the database pool follows its credentials, see `db/follow.rs`).

use std::collections::BTreeMap;

use secrecy::SecretString;
use tokio::task::JoinHandle;

use super::AuthConfig;
use super::setup::AuthRuntime;
use crate::secrets::{Secret, Secrets};

/// What a secret reference in `[auth]` configures.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `auth.issuers.N.hs_secret`.
    HsSecret(usize),
    /// `auth.issuers.N.pem`.
    Pem(usize),
    /// `auth.clients.NAME.client_secret`.
    ClientSecret(String),
}

impl Target {
    /// The target of the configuration key `key`, if it is one that can follow rotation.
    fn of(key: &str) -> Option<Self> {
        if let Some(rest) = key.strip_prefix("auth.issuers.") {
            let (index, field) = rest.split_once('.')?;
            let index = index.parse().ok()?;
            return match field {
                "hs_secret" => Some(Self::HsSecret(index)),
                "pem" => Some(Self::Pem(index)),
                _ => None,
            };
        }
        let name = key
            .strip_prefix("auth.clients.")?
            .strip_suffix(".client_secret")?;
        Some(Self::ClientSecret(name.to_string()))
    }
}

/// Spawns one task per secret reference in `[auth]` (`refs` maps configuration keys to
/// references) that applies each new value; abort the tasks to stop.
pub(crate) fn follow_secrets(
    auth: &AuthRuntime,
    config: &AuthConfig,
    refs: &BTreeMap<String, String>,
    secrets: &Secrets,
) -> Vec<JoinHandle<()>> {
    refs.iter()
        .filter_map(|(key, reference)| Some((key.clone(), reference.clone(), Target::of(key)?)))
        .map(|(key, reference, target)| {
            let follower = Follower {
                key,
                target,
                auth: auth.clone(),
                config: config.clone(),
            };
            let secrets = secrets.clone();
            tokio::spawn(async move { follower.run(&secrets, &reference).await })
        })
        .collect()
}

struct Follower {
    key: String,
    target: Target,
    auth: AuthRuntime,
    config: AuthConfig,
}

impl Follower {
    async fn run(self, secrets: &Secrets, reference: &str) {
        let mut rx = match secrets.subscribe(reference).await {
            Ok(rx) => rx,
            Err(error) => {
                tracing::warn!(key = %self.key, %error, "cannot follow an auth secret; its rotation needs a restart");
                return;
            }
        };
        rx.borrow_and_update();
        while rx.changed().await.is_ok() {
            let value = rx.borrow_and_update().clone();
            self.apply(&value);
        }
    }

    /// Applies a new value; an unusable one is logged and the current one kept.
    fn apply(&self, value: &Secret) {
        let Some(text) = value.expose_str() else {
            tracing::warn!(key = %self.key, "an auth secret changed to a value that is not text; keeping the current one");
            return;
        };
        let text = SecretString::from(text.to_string());
        let outcome = match &self.target {
            Target::HsSecret(index) | Target::Pem(index) => {
                let Some(issuer) = self.config.issuers.get(*index) else {
                    return;
                };
                let Some(verifier) = self.auth.layer.verifier() else {
                    return;
                };
                let (hs, pem) = match self.target {
                    Target::HsSecret(_) => (Some(&text), None),
                    _ => (None, Some(secrecy::ExposeSecret::expose_secret(&text))),
                };
                verifier
                    .rotate_fixed_keys(*index, &issuer.issuer, hs, pem)
                    .map_err(|e| e.to_string())
            }
            Target::ClientSecret(name) => match self.auth.clients.get(name) {
                Some(client) => {
                    client.set_client_secret(text);
                    Ok(())
                }
                None => return,
            },
        };
        match outcome {
            Ok(()) => {
                tracing::info!(key = %self.key, "auth secret rotated; applied without restart")
            }
            Err(error) => {
                tracing::warn!(key = %self.key, %error, "an auth secret changed to an unusable value; keeping the current one")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_come_from_the_auth_keys() {
        assert_eq!(
            Target::of("auth.issuers.1.hs_secret"),
            Some(Target::HsSecret(1))
        );
        assert_eq!(Target::of("auth.issuers.0.pem"), Some(Target::Pem(0)));
        assert_eq!(
            Target::of("auth.clients.student-service.client_secret"),
            Some(Target::ClientSecret("student-service".into()))
        );
        assert_eq!(Target::of("auth.issuers.0.issuer"), None);
        assert_eq!(Target::of("database.password"), None);
    }
}
