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
