//! The readiness checks of the events runtime. Both are optional (they report `warn`, never
//! 503): while the broker is down the outbox absorbs new events, so the service can still
//! take writes; a backlog is worth an alert, not a restart.

use std::sync::Arc;
use std::time::Duration;

use super::store::{Store, now_millis};
use super::transport::SharedTransport;
use crate::health::{CheckFuture, HealthCheck};

/// `events-broker`: a round trip to the broker.
pub(crate) struct BrokerCheck {
    pub(crate) transport: SharedTransport,
}

impl HealthCheck for BrokerCheck {
    fn name(&self) -> &str {
        "events-broker"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move { self.transport.check().await.map_err(|e| e.to_string()) })
    }

    fn required(&self) -> bool {
        false
    }
}

/// `events-outbox`: warns when more rows than `max_depth` wait, or the oldest waits longer
/// than `max_age`.
pub(crate) struct OutboxCheck {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) max_depth: u64,
    pub(crate) max_age: Duration,
}

impl HealthCheck for OutboxCheck {
    fn name(&self) -> &str {
        "events-outbox"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let backlog = self.store.backlog().await.map_err(|e| e.to_string())?;
            super::relay::record_backlog(self.store.as_ref()).await;
            if backlog.depth > self.max_depth {
                return Err(format!(
                    "{} events wait in the outbox (events.outbox.backlog_warn_count is {})",
                    backlog.depth, self.max_depth
                ));
            }
            if let Some(oldest) = backlog.oldest_millis {
                let age = Duration::from_millis(u64::try_from(now_millis() - oldest).unwrap_or(0));
                if age > self.max_age {
                    return Err(format!(
                        "the oldest event has waited in the outbox for {}s (events.outbox.backlog_warn_age is {}s)",
                        age.as_secs(),
                        self.max_age.as_secs()
                    ));
                }
            }
            Ok(())
        })
    }

    fn required(&self) -> bool {
        false
    }
}
