//! The `cache` readiness check: optional (it reports `warn`, never 503), since every call
//! that needs the cache goes to its loader while Redis is down; a replica taken out of the
//! load balancer for a cache outage would only move the load to the others.

use std::time::Duration;

use super::connection::Connection;
use crate::health::{CheckFuture, HealthCheck};

/// `cache`: a `PING` round trip.
pub(crate) struct CacheCheck {
    pub(crate) connection: Connection,
    pub(crate) within: Duration,
}

impl HealthCheck for CacheCheck {
    fn name(&self) -> &str {
        "cache"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            self.connection.ping(self.within).await.map_err(|e| {
                let skipping = if self.connection.is_skipping() {
                    "; cache calls skip Redis and go to their loaders"
                } else {
                    "; cache calls go to their loaders when Redis fails"
                };
                format!(
                    "degraded: {} does not answer ({e}){skipping}",
                    self.connection.target()
                )
            })
        })
    }

    fn required(&self) -> bool {
        false
    }
}
