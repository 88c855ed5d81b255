//! The NATS JetStream adapter (feature `events-nats`).
//!
//! Names, with `p` the `events.prefix` (none by default) and `S` a name with every character
//! other than letters, digits, `-` and `_` replaced by `_` (stream and consumer names cannot
//! hold `.`):
//! - each publishing service has a stream `S(p_service)` over the subjects `p.service.>`;
//!   an event travels on `p.service.type` with `Nats-Msg-Id` = its id, so JetStream drops a
//!   duplicate publish (a relay retrying after a lost confirm) within its dedupe window;
//! - each handler registration is a durable pull consumer `S(consumer_type)` on the publisher's
//!   stream, filtered to the event type, with `ack_wait` and unlimited `max_deliver` (the
//!   runtime decides when to give up);
//! - dead letters go to the stream `S(p_consumer)_DLQ`, subjects `p.dlq.consumer.>`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer, stream};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use secrecy::ExposeSecret;

use super::transport::{
    Connect, Incoming, SharedTransport, SubscribeSpec, Subscription, Transport, TransportError,
};
use crate::telemetry::catalog;

/// Connects in the background: a broker that is down does not stop startup.
pub(crate) async fn connect(settings: &Connect) -> Result<SharedTransport, TransportError> {
    let client = async_nats::ConnectOptions::new()
        .name(settings.service.clone())
        .retry_on_initial_connect()
        .connection_timeout(settings.timeout)
        .request_timeout(Some(settings.timeout))
        .connect(settings.url.expose_secret())
        .await
        .map_err(|e| TransportError::Refused(Box::new(e)))?;
    let mut js = jetstream::new(client.clone());
    js.set_timeout(settings.timeout);
    Ok(Arc::new(Nats {
        client,
        js,
        prefix: settings.prefix.clone(),
        timeout: settings.timeout,
        streams: Mutex::new(HashSet::new()),
    }))
}

/// `S(..)`: a valid stream or consumer name.
pub(crate) fn name(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct Nats {
    client: async_nats::Client,
    js: jetstream::Context,
    prefix: Option<String>,
    timeout: Duration,
    /// Streams known to exist.
    streams: Mutex<HashSet<String>>,
}

impl Nats {
    fn subject(&self, parts: &[&str]) -> String {
        let mut all: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        all.extend_from_slice(parts);
        all.join(".")
    }

    fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or("")
    }

    fn connected(&self) -> Result<(), TransportError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            state => Err(TransportError::Unavailable(
                format!("NATS connection {state}").into(),
            )),
        }
    }

    /// Creates (or finds) the stream of the publishing service `service`.
    async fn service_stream(&self, service: &str) -> Result<stream::Stream, TransportError> {
        let name = name(&[self.prefix(), service]);
        let subjects = vec![self.subject(&[service, ">"])];
        self.stream(name, subjects).await
    }

    async fn stream(
        &self,
        name: String,
        subjects: Vec<String>,
    ) -> Result<stream::Stream, TransportError> {
        self.connected()?;
        let config = stream::Config {
            name: name.clone(),
            subjects,
            ..Default::default()
        };
        let created = tokio::time::timeout(self.timeout, self.js.get_or_create_stream(config))
            .await
            .map_err(|e| TransportError::Unavailable(Box::new(e)))?
            .map_err(|e| TransportError::Refused(Box::new(e)))?;
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name);
        Ok(created)
    }

    fn known(&self, name: &str) -> bool {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(name)
    }
}

impl Transport for Nats {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn publish<'a>(
        &'a self,
        message: &'a super::transport::Outgoing,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            if !self.known(&name(&[self.prefix(), &message.source])) {
                self.service_stream(&message.source).await?;
            }
            let subject = self.subject(&[&message.source, &message.event_type]);
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", message.id.as_str());
            headers.insert("Content-Type", "application/cloudevents+json");
            let send = async {
                let ack = self
                    .js
                    .publish_with_headers(subject, headers, message.body.clone())
                    .await
                    .map_err(|e| TransportError::Unavailable(Box::new(e)))?;
                ack.await
                    .map_err(|e| TransportError::Unavailable(Box::new(e)))
            };
            tokio::time::timeout(self.timeout, send)
                .await
                .map_err(|e| TransportError::Unavailable(Box::new(e)))?
                .map(|_| ())
        })
    }

    fn subscribe<'a>(
        &'a self,
        spec: &'a SubscribeSpec,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>, TransportError>> {
        Box::pin(async move {
            let stream = self.service_stream(&spec.source).await?;
            let dlq_stream = format!("{}_DLQ", name(&[self.prefix(), &spec.consumer]));
            let dlq_subject = self.subject(&["dlq", &spec.consumer]);
            self.stream(dlq_stream, vec![format!("{dlq_subject}.>")])
                .await?;
            let mut types: Vec<&str> = spec.event_types.iter().map(String::as_str).collect();
            types.sort_unstable();
            let durable = name(&[&spec.consumer, &types.join("_")]);
            let filters: Vec<String> = spec
                .event_types
                .iter()
                .map(|t| self.subject(&[&spec.source, t]))
                .collect();
            let mut config = jetstream::consumer::pull::Config {
                durable_name: Some(durable.clone()),
                ack_wait: spec.ack_wait,
                max_deliver: -1,
                max_ack_pending: i64::from(spec.prefetch),
                ..Default::default()
            };
            if let [one] = filters.as_slice() {
                config.filter_subject = one.clone();
            } else {
                config.filter_subjects = filters;
            }
            let consumer: PullConsumer =
                tokio::time::timeout(self.timeout, stream.create_consumer(config))
                    .await
                    .map_err(|e| TransportError::Unavailable(Box::new(e)))?
                    .map_err(|e| TransportError::Refused(Box::new(e)))?;
            let messages = consumer
                .stream()
                .max_messages_per_batch(usize::from(spec.prefetch))
                .messages()
                .await
                .map_err(|e| TransportError::Unavailable(Box::new(e)))?;
            Ok(Box::new(NatsSubscription {
                consumer,
                messages,
                js: self.js.clone(),
                dlq_subject,
                name: spec.consumer.clone(),
                lag_at: None,
            }) as Box<dyn Subscription>)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            self.connected()?;
            tokio::time::timeout(self.timeout, self.client.flush())
                .await
                .map_err(|e| TransportError::Unavailable(Box::new(e)))?
                .map_err(|e| TransportError::Unavailable(Box::new(e)))
        })
    }
}

struct NatsSubscription {
    consumer: PullConsumer,
    messages: jetstream::consumer::pull::Stream,
    js: jetstream::Context,
    dlq_subject: String,
    name: String,
    lag_at: Option<Instant>,
}

impl NatsSubscription {
    /// Sets the lag gauge from the consumer's `num_pending`, at most every 5 s.
    async fn record_lag(&mut self) {
        if self
            .lag_at
            .is_some_and(|at| at.elapsed() < Duration::from_secs(5))
        {
            return;
        }
        self.lag_at = Some(Instant::now());
        if let Ok(Ok(info)) =
            tokio::time::timeout(Duration::from_secs(1), self.consumer.info()).await
        {
            #[allow(clippy::cast_precision_loss)] // a message count far below 2^52
            metrics::gauge!(catalog::EVENTS_CONSUMER_LAG, "consumer" => self.name.clone(), "broker" => "nats")
                .set(info.num_pending as f64);
        }
    }
}

impl Subscription for NatsSubscription {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<Box<dyn Incoming>, TransportError>>> {
        Box::pin(async move {
            self.record_lag().await;
            let next = self.messages.next().await?;
            Some(match next {
                Ok(message) => Ok(Box::new(NatsIncoming {
                    message,
                    js: self.js.clone(),
                    dlq_subject: self.dlq_subject.clone(),
                }) as Box<dyn Incoming>),
                Err(e) => Err(TransportError::Unavailable(Box::new(e))),
            })
        })
    }
}

struct NatsIncoming {
    message: jetstream::Message,
    js: jetstream::Context,
    dlq_subject: String,
}

impl Incoming for NatsIncoming {
    fn body(&self) -> &[u8] {
        &self.message.payload
    }

    fn attempt(&self) -> u32 {
        self.message
            .info()
            .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1)
    }

    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            self.message
                .double_ack()
                .await
                .map_err(TransportError::Unavailable)
        })
    }

    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            self.message
                .ack_with(AckKind::Nak(Some(delay)))
                .await
                .map_err(TransportError::Unavailable)
        })
    }

    fn dead_letter(
        self: Box<Self>,
        reason: String,
    ) -> BoxFuture<'static, Result<(), TransportError>> {
        Box::pin(async move {
            let subject = format!("{}.{}", self.dlq_subject, self.message.subject);
            let mut headers = self.message.headers.clone().unwrap_or_default();
            let reason: String = reason
                .chars()
                .filter(|c| !c.is_control())
                .take(500)
                .collect();
            headers.insert("Servicekit-Dead-Letter-Reason", reason.as_str());
            let ack = self
                .js
                .publish_with_headers(subject, headers, self.message.payload.clone())
                .await
                .map_err(|e| TransportError::Unavailable(Box::new(e)))?;
            ack.await
                .map_err(|e| TransportError::Unavailable(Box::new(e)))?;
            self.message
                .ack_with(AckKind::Term)
                .await
                .map_err(TransportError::Unavailable)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn names_hold_no_dots() {
        assert_eq!(name(&["", "student-service"]), "student-service");
        assert_eq!(name(&["t1", "svc.v2"]), "t1_svc_v2");
        assert_eq!(
            name(&["subject-service", "student.deleted"]),
            "subject-service_student_deleted"
        );
    }
}
