//! The events runtime of one service: created at startup (tables, broker connection, readiness
//! checks), started once the service is ready (relay and consumers), stopped during the drain
//! before the pool closes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::config::EventsConfig;
use super::consumer::{self, Registration};
use super::health::{BrokerCheck, OutboxCheck};
use super::relay::Relay;
use super::store::Store;
use super::transport::{Connect, SharedTransport};
use crate::BoxError;
use crate::db::{DbKind, redact_url};
use crate::health::Health;

/// Shared by [`Events`](super::Events) handles and the lifecycle.
#[derive(Clone)]
pub(crate) struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    config: EventsConfig,
    store: Arc<dyn Store>,
    kind: DbKind,
    wake: Arc<Notify>,
    transport: Option<SharedTransport>,
    registrations: Mutex<Vec<Registration>>,
    started: Mutex<bool>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Runtime {
    /// Creates the outbox and inbox tables, connects to the broker in the background (when
    /// `events.url` is set) and registers the readiness checks.
    pub(crate) async fn open(
        service: &str,
        config: &EventsConfig,
        store: Arc<dyn Store>,
        health: &Health,
    ) -> Result<Self, BoxError> {
        store
            .create_tables()
            .await
            .map_err(|e| format!("cannot create the outbox and inbox tables: {e}"))?;
        let transport = match &config.url {
            Some(url) => {
                let settings = Connect {
                    url: url.clone(),
                    prefix: config.prefix.clone(),
                    service: service.to_string(),
                    timeout: config.timeout,
                    aws_region: config.aws.region.clone(),
                    aws_endpoint_url: config.aws.endpoint_url.clone(),
                };
                let transport = super::connect::connect(&settings)
                    .await
                    .map_err(|e| format!("events.url {}: {e}", redact_url(url.expose_secret())))?;
                health.register(BrokerCheck {
                    transport: Arc::clone(&transport),
                });
                Some(transport)
            }
            None => None,
        };
        health.register(OutboxCheck {
            store: Arc::clone(&store),
            max_depth: config.outbox.backlog_warn_count,
            max_age: config.outbox.backlog_warn_age,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                service: service.to_string(),
                config: config.clone(),
                kind: store.kind(),
                store,
                wake: Arc::new(Notify::new()),
                transport,
                registrations: Mutex::new(Vec::new()),
                started: Mutex::new(false),
                stop: watch::channel(false).0,
                tasks: Mutex::new(Vec::new()),
            }),
        })
    }

    pub(crate) fn service(&self) -> &str {
        &self.inner.service
    }

    pub(crate) fn config(&self) -> &EventsConfig {
        &self.inner.config
    }

    pub(crate) fn kind(&self) -> DbKind {
        self.inner.kind
    }

    /// Tells the relay that a row was staged: now, and again shortly, since the staging
    /// transaction commits after `stage` returns.
    pub(crate) fn staged(&self) {
        let wake = Arc::clone(&self.inner.wake);
        wake.notify_one();
        if self.inner.transport.is_some()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                for delay in [5, 50] {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    wake.notify_one();
                }
            });
        }
    }

    /// Adds a consumer; started at once when the runtime already runs.
    pub(crate) fn register(&self, registration: Registration) {
        let started = *self.inner.started.lock().unwrap_or_else(|e| e.into_inner());
        if started {
            self.spawn_consumer(registration);
        } else {
            self.inner
                .registrations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(registration);
        }
    }

    fn spawn_consumer(&self, registration: Registration) {
        let Some(transport) = &self.inner.transport else {
            return;
        };
        let task = tokio::spawn(consumer::run(
            Arc::clone(transport),
            registration,
            self.inner.config.consumer.clone(),
            self.inner.stop.subscribe(),
        ));
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Starts the relay and the registered consumers (the service is ready).
    pub(crate) fn start(&self) {
        *self.inner.started.lock().unwrap_or_else(|e| e.into_inner()) = true;
        let registrations = std::mem::take(
            &mut *self
                .inner
                .registrations
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let Some(transport) = &self.inner.transport else {
            tracing::info!(
                handlers = registrations.len(),
                "events.url is not set: staged events stay in the outbox and no events are consumed"
            );
            return;
        };
        let relay = Relay {
            store: Arc::clone(&self.inner.store),
            transport: Arc::clone(transport),
            service: self.inner.service.clone(),
            config: self.inner.config.outbox.clone(),
            wake: Arc::clone(&self.inner.wake),
        };
        let task = tokio::spawn(relay.run(self.inner.stop.subscribe()));
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        tracing::info!(
            broker = transport.name(),
            handlers = registrations.len(),
            "events relay started"
        );
        for registration in registrations {
            self.spawn_consumer(registration);
        }
    }

    /// Stops everything at once, handlers in flight included (their events are redelivered):
    /// for a service whose task is dropped without a drain.
    pub(crate) fn abort(&self) {
        let _ = self.inner.stop.send(true);
        for task in self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }

    /// Stops pulling, lets in-flight handlers finish and settle, stops the relay.
    pub(crate) async fn stop(&self, deadline: Duration) {
        let _ = self.inner.stop.send(true);
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!(
                ?deadline,
                "event handlers still running at the deadline; their events are redelivered"
            );
            for abort in aborts {
                abort.abort();
            }
        }
    }
}
