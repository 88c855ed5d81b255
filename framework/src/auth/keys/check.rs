//! The readiness check that reports whether every issuer's keys are loaded.

use std::sync::Arc;

use super::store::KeyStore;
use crate::health::{CheckFuture, HealthCheck};

/// Fails while an issuer's keys have never been loaded; a later failed refresh keeps the
/// previous keys and the service ready.
pub(crate) struct KeysCheck {
    pub(crate) stores: Vec<Arc<KeyStore>>,
}

impl HealthCheck for KeysCheck {
    fn name(&self) -> &str {
        "auth"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let problems: Vec<String> = self
                .stores
                .iter()
                .filter_map(|s| s.status().err())
                .collect();
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::{KeySet, Source, VerifyKey};
    use std::time::Duration;

    #[tokio::test]
    async fn fails_until_every_store_has_keys() {
        let fixed = Arc::new(KeyStore::fixed(
            "a",
            KeySet {
                keys: vec![VerifyKey::hmac(b"s")],
            },
        ));
        let check = KeysCheck {
            stores: vec![fixed.clone()],
        };
        assert_eq!(check.name(), "auth");
        assert!(check.check().await.is_ok());

        let remote = Arc::new(KeyStore::remote(
            "https://b.example",
            Source::Jwks("http://127.0.0.1:9/jwks".into()),
            reqwest::Client::new(),
            Duration::ZERO,
        ));
        let check = KeysCheck {
            stores: vec![fixed, remote],
        };
        let err = check.check().await.unwrap_err();
        assert!(err.contains("https://b.example"), "{err}");
    }
}
