//! The consumer runtime: one task per handler registration, pulling from the broker, running
//! the handler (at most `concurrency` at once, one at a time per key), then settling each
//! message: ack, retry with backoff, or dead letter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{OwnedMutexGuard, Semaphore, watch};
use tokio::task::JoinSet;

use super::config::ConsumerConfig;
use super::envelope::Envelope;
use super::transport::{Incoming, SharedTransport, SubscribeSpec};
use crate::telemetry::catalog;

/// What running a handler on one event came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Committed: ack.
    Handled,
    /// The inbox holds the event already: ack and skip.
    Duplicate,
    /// The handler (or its transaction) failed: retry, or dead-letter after the last attempt.
    Failed(String),
    /// The event can never be handled (its data does not deserialize): dead-letter at once.
    Poison(String),
}

/// Runs the handler of one registration on an event and its attempt number.
pub(crate) type Process = Arc<dyn Fn(Envelope, u32) -> BoxFuture<'static, Outcome> + Send + Sync>;

/// One `Events::on` registration.
#[derive(Clone)]
pub(crate) struct Registration {
    pub(crate) spec: SubscribeSpec,
    pub(crate) process: Process,
}

/// Per-key locks, so that events of one key are handled in delivery order.
#[derive(Default)]
struct KeyLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyLocks {
    fn lock_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.len() > 4096 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(locks.entry(key.to_string()).or_default())
    }
}

/// Resolves once `stop` is true.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The delay before the delivery after `attempt`: `min * 2^(attempt-1)`, capped at `max`,
/// with jitter (between half and all of it).
pub(crate) fn retry_delay(config: &ConsumerConfig, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = config
        .backoff_min
        .saturating_mul(1 << exponent)
        .min(config.backoff_max);
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// Runs one registration until `stop` turns true, then waits for the handlers in flight.
pub(crate) async fn run(
    transport: SharedTransport,
    registration: Registration,
    config: ConsumerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let spec = &registration.spec;
    let permits = Arc::new(Semaphore::new(usize::from(config.concurrency)));
    let keys = KeyLocks::default();
    let mut tasks = JoinSet::new();
    let mut backoff = config.backoff_min.min(Duration::from_secs(1));
    let max_backoff = Duration::from_secs(30);
    'subscribe: loop {
        let subscribed = tokio::select! {
            s = transport.subscribe(spec) => s,
            () = stopped(&mut stop) => break 'subscribe,
        };
        let mut subscription = match subscribed {
            Ok(subscription) => {
                backoff = config.backoff_min.min(Duration::from_secs(1));
                tracing::info!(consumer = %spec.consumer, source = %spec.source, types = ?spec.event_types, "consuming events");
                subscription
            }
            Err(error) => {
                tracing::warn!(%error, consumer = %spec.consumer, retry_in = ?backoff, "cannot subscribe to events; retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stopped(&mut stop) => break 'subscribe,
                }
                backoff = (backoff * 2).min(max_backoff);
                continue;
            }
        };
        loop {
            while tasks.try_join_next().is_some() {}
            let next = tokio::select! {
                next = subscription.next() => next,
                () = stopped(&mut stop) => break 'subscribe,
            };
            let message = match next {
                None => continue 'subscribe,
                Some(Err(error)) => {
                    tracing::warn!(%error, consumer = %spec.consumer, retry_in = ?backoff, "receiving events failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = stopped(&mut stop) => break 'subscribe,
                    }
                    backoff = (backoff * 2).min(max_backoff);
                    continue;
                }
                Some(Ok(message)) => message,
            };
            backoff = config.backoff_min.min(Duration::from_secs(1));
            let envelope = match Envelope::parse(message.body()) {
                Ok(envelope) => envelope,
                Err(error) => {
                    metrics::counter!(catalog::EVENTS_DEAD_LETTERED_TOTAL, "consumer" => spec.consumer.clone(), "type" => "unknown")
                        .increment(1);
                    tracing::warn!(%error, consumer = %spec.consumer, "dead-lettering a message that is not an event");
                    tasks.spawn(async move {
                        let _ = message.dead_letter(error.to_string()).await;
                    });
                    continue;
                }
            };
            // Unsettled messages dropped here (on stop) are redelivered after ack_wait.
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => permit,
                () = stopped(&mut stop) => break 'subscribe,
            };
            let Ok(permit) = permit else { break 'subscribe };
            let key = envelope.subject.clone().unwrap_or_default();
            let guard = tokio::select! {
                guard = keys.lock_of(&key).lock_owned() => guard,
                () = stopped(&mut stop) => break 'subscribe,
            };
            let process = Arc::clone(&registration.process);
            let config = config.clone();
            let consumer = spec.consumer.clone();
            tasks.spawn(async move {
                settle(message, envelope, &process, &config, &consumer, guard).await;
                drop(permit);
            });
        }
    }
    // In-flight handlers finish and settle before the pool closes.
    while tasks.join_next().await.is_some() {}
}

/// Runs the handler on one message and settles it.
async fn settle(
    message: Box<dyn Incoming>,
    envelope: Envelope,
    process: &Process,
    config: &ConsumerConfig,
    consumer: &str,
    _key_turn: OwnedMutexGuard<()>,
) {
    let attempt = message.attempt().max(1);
    let event_type = envelope.event_type.clone();
    let labels = [
        ("consumer", consumer.to_string()),
        ("type", event_type.clone()),
    ];
    if attempt > 1 {
        metrics::counter!(catalog::EVENTS_REDELIVERIES_TOTAL, &labels).increment(1);
    }
    let id = envelope.id.clone();
    let settled = match process(envelope, attempt).await {
        Outcome::Handled => {
            metrics::counter!(catalog::EVENTS_CONSUMED_TOTAL, &labels).increment(1);
            message.ack().await
        }
        Outcome::Duplicate => {
            tracing::debug!(%id, consumer, "event handled before; skipping");
            message.ack().await
        }
        Outcome::Poison(reason) => {
            metrics::counter!(catalog::EVENTS_DEAD_LETTERED_TOTAL, &labels).increment(1);
            tracing::warn!(%id, consumer, %reason, "dead-lettering an event whose data does not deserialize");
            message.dead_letter(reason).await
        }
        Outcome::Failed(reason) => {
            metrics::counter!(catalog::EVENTS_HANDLER_FAILURES_TOTAL, &labels).increment(1);
            if attempt >= config.max_attempts {
                metrics::counter!(catalog::EVENTS_DEAD_LETTERED_TOTAL, &labels).increment(1);
                tracing::error!(%id, consumer, attempt, %reason, "event handler failed on the last attempt; dead-lettering the event");
                message
                    .dead_letter(format!("failed {attempt} times; last error: {reason}"))
                    .await
            } else {
                let delay = retry_delay(config, attempt);
                tracing::warn!(%id, consumer, attempt, %reason, retry_in = ?delay, "event handler failed; retrying");
                message.retry(delay).await
            }
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, %id, consumer, "settling a message failed; the broker redelivers it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_with_jitter_up_to_the_cap() {
        let config = ConsumerConfig {
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            ..ConsumerConfig::default()
        };
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (40, 10)] {
            let delay = retry_delay(&config, attempt);
            let full = Duration::from_secs(full);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
    }
}
