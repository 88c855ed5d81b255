//! The outbox relay: publishes staged rows in order, deletes them once the broker confirmed,
//! and backs off while the broker is down (rows wait in the table; nothing is lost).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};

use super::config::OutboxConfig;
use super::store::{OutboxRow, Store, now_millis};
use super::transport::{Outgoing, SharedTransport, TransportError};
use crate::telemetry::catalog;

/// What the relay task needs.
pub(crate) struct Relay {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) transport: SharedTransport,
    pub(crate) service: String,
    pub(crate) config: OutboxConfig,
    pub(crate) wake: Arc<Notify>,
}

impl Relay {
    /// Runs until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let Relay {
            store,
            transport,
            service,
            config,
            wake,
        } = self;
        let broker = transport.name();
        let mut backoff = config.backoff_min;
        let mut gauges_at: Option<Instant> = None;
        let publish = |row: OutboxRow| -> BoxFuture<'_, Result<(), TransportError>> {
            let transport = Arc::clone(&transport);
            let message = Outgoing {
                id: row.id,
                event_type: row.event_type,
                key: row.key,
                source: service.clone(),
                body: Bytes::from(row.body),
            };
            Box::pin(async move {
                let result = transport.publish(&message).await;
                if result.is_ok() {
                    metrics::counter!(catalog::EVENTS_PUBLISHED_TOTAL, "broker" => broker, "type" => message.event_type.clone())
                        .increment(1);
                }
                result
            })
        };
        loop {
            if *stop.borrow() {
                break;
            }
            let wait = match store.relay_round(config.batch_size, &publish).await {
                Ok((count, None)) => {
                    backoff = config.backoff_min;
                    if count >= config.batch_size as usize {
                        // More may be waiting: go on at once.
                        continue;
                    }
                    None
                }
                Ok((count, Some(error))) => {
                    metrics::counter!(catalog::EVENTS_PUBLISH_FAILURES_TOTAL, "broker" => broker)
                        .increment(1);
                    tracing::warn!(%error, published = count, retry_in = ?backoff, "publishing staged events failed; they wait in the outbox");
                    Some(next_backoff(&mut backoff, config.backoff_max))
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "reading the outbox failed");
                    Some(next_backoff(&mut backoff, config.backoff_max))
                }
            };
            if gauges_at.is_none_or(|at| at.elapsed() >= config.poll_interval) {
                gauges_at = Some(Instant::now());
                record_backlog(store.as_ref()).await;
            }
            let sleep = wait.unwrap_or(config.poll_interval);
            tokio::select! {
                () = wake.notified(), if wait.is_none() => {}
                () = tokio::time::sleep(sleep) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// The current backoff, doubling the next one up to `max`.
fn next_backoff(backoff: &mut Duration, max: Duration) -> Duration {
    let now = *backoff;
    *backoff = (*backoff * 2).min(max);
    now
}

/// Sets the outbox depth and oldest-age gauges.
pub(crate) async fn record_backlog(store: &dyn Store) {
    if let Ok(backlog) = store.backlog().await {
        #[allow(clippy::cast_precision_loss)] // a row count far below 2^52
        metrics::gauge!(catalog::EVENTS_OUTBOX_DEPTH).set(backlog.depth as f64);
        let age = backlog
            .oldest_millis
            .map_or(0.0, |oldest| (now_millis() - oldest).max(0) as f64 / 1000.0);
        metrics::gauge!(catalog::EVENTS_OUTBOX_OLDEST_AGE_SECONDS).set(age);
    }
}
