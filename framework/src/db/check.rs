//! The readiness check every pool registers.

use crate::db::{Backend, Database};
use crate::health::{CheckFuture, HealthCheck};

impl<DB: Backend> HealthCheck for Database<DB> {
    fn name(&self) -> &str {
        "database"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move { self.ping().await.map_err(|e| e.to_string()) })
    }
}
