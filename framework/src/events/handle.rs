//! [`Events`]: what a service's code stages events and registers handlers with.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::Transaction;
use tracing::Instrument;

use super::consumer::{Outcome, Process, Registration};
use super::envelope::Envelope;
use super::runtime::Runtime;
use super::store::{insert_inbox, insert_outbox};
use super::transport::SubscribeSpec;
use super::{Event, Received};
use crate::BoxError;
use crate::db::{Backend, Database};

/// The service's events: [`stage`](Events::stage) in a transaction, consume with
/// [`on`](Events::on). Get it with [`Context::events`](crate::Context::events) (the portable
/// pool) or [`Context::events_as`](crate::Context::events_as) (a typed pool). Cloning is cheap.
///
/// ```no_run
/// use servicekit::events::{Event, Received};
/// use servicekit::Problem;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct StudentDeleted { id: String }
/// impl Event for StudentDeleted {
///     const TYPE: &'static str = "student.deleted";
///     fn key(&self) -> String { self.id.clone() }
/// }
///
/// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
///     let db = ctx.db()?;
///     let events = ctx.events()?;
///     // Publishing: the outbox row commits with the business write, or neither does.
///     let staging = events.clone();
///     db.transaction(|tx| Box::pin(async move {
///         sqlx::query("DELETE FROM students WHERE id = 'x'").execute(&mut **tx).await?;
///         staging.stage(tx, &StudentDeleted { id: "x".into() }).await?;
///         Ok::<_, Problem>(())
///     })).await?;
///     // Consuming student-service's events (started once the service is ready):
///     events.on::<StudentDeleted, _>("student-service", |event: Received<StudentDeleted>, tx| {
///         Box::pin(async move {
///             sqlx::query("DELETE FROM enrolments WHERE student_id = $1")
///                 .bind(event.data.id)
///                 .execute(&mut **tx)
///                 .await?;
///             Ok(())
///         })
///     });
///     Ok(axum::Router::new())
/// }
/// ```
pub struct Events<DB: Backend = sqlx::Any> {
    runtime: Runtime,
    db: Database<DB>,
}

impl<DB: Backend> Clone for Events<DB> {
    fn clone(&self) -> Self {
        Self {
            runtime: self.runtime.clone(),
            db: self.db.clone(),
        }
    }
}

impl<DB: Backend> std::fmt::Debug for Events<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("service", &self.runtime.service())
            .field("driver", &DB::DRIVER)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> Events<DB> {
    pub(crate) fn new(runtime: Runtime, db: Database<DB>) -> Self {
        Self { runtime, db }
    }

    /// Stages `event` in the outbox, inside `tx`: it is published (in order per
    /// [`Event::key`], at least once) after `tx` commits, and never if `tx` rolls back.
    /// Works on a transaction of the portable pool and of a typed one.
    ///
    /// Fails only when the insert fails (or `event` does not serialize, as
    /// [`sqlx::Error::Encode`]); the broker is never contacted here.
    pub async fn stage<B: Backend, E: Event>(
        &self,
        tx: &mut Transaction<'_, B>,
        event: &E,
    ) -> Result<(), sqlx::Error> {
        let envelope = Envelope::new(self.runtime.service(), event)
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let key = envelope.subject.clone().unwrap_or_default();
        insert_outbox::<B>(
            tx,
            self.runtime.kind(),
            &envelope.id,
            &key,
            E::TYPE,
            &envelope.to_json(),
        )
        .await?;
        self.runtime.staged();
        Ok(())
    }

    /// Runs `handler` on every event of type `E` that service `source` publishes, once the
    /// service is ready. The instances of this service share the events (a durable consumer
    /// named after this service); another service registering the same gets every event too.
    ///
    /// The handler receives the event and a transaction on the service's database in which
    /// the inbox row (this service, event id) was inserted first: an event handled before is
    /// acknowledged and skipped, so redeliveries do not apply twice. `Ok` commits, then
    /// acknowledges; `Err` (or a panic) rolls back and retries after a backoff
    /// (`events.consumer.backoff_*`); after `events.consumer.max_attempts` the event is
    /// dead-lettered. An event whose data does not deserialize into `E` is dead-lettered at
    /// once. The handler runs in a span that continues the event's `traceparent`.
    pub fn on<E, F>(&self, source: &str, handler: F)
    where
        E: Event,
        F: for<'t> Fn(
                Received<E>,
                &'t mut Transaction<'static, DB>,
            ) -> BoxFuture<'t, Result<(), BoxError>>
            + Send
            + Sync
            + 'static,
    {
        let handler = Arc::new(handler);
        let db = self.db.clone();
        let kind = self.runtime.kind();
        let consumer = self.runtime.service().to_string();
        let name = consumer.clone();
        let process: Process = Arc::new(move |envelope: Envelope, attempt: u32| {
            let handler = Arc::clone(&handler);
            let db = db.clone();
            let consumer = consumer.clone();
            let span = tracing::info_span!(
                "event",
                otel.kind = "consumer",
                messaging.operation = "process",
                event.type = %envelope.event_type,
                event.id = %envelope.id,
                event.source = %envelope.source,
                attempt,
            );
            crate::telemetry::extract_parent(&span, &envelope.trace_headers());
            Box::pin(
                async move {
                    let data: E = match serde_json::from_value(envelope.data.clone()) {
                        Ok(data) => data,
                        Err(e) => {
                            return Outcome::Poison(format!(
                                "the data of {} {} does not deserialize: {e}",
                                envelope.event_type, envelope.id
                            ));
                        }
                    };
                    let received = Received {
                        data,
                        time: envelope.time(),
                        id: envelope.id,
                        source: envelope.source,
                        subject: envelope.subject,
                        attempt,
                    };
                    handle(&db, kind, &consumer, received, handler.as_ref()).await
                }
                .instrument(span),
            ) as BoxFuture<'static, Outcome>
        });
        self.runtime.register(Registration {
            spec: SubscribeSpec {
                consumer: name,
                source: source.to_string(),
                event_types: vec![E::TYPE.to_string()],
                max_attempts: self.runtime.config().consumer.max_attempts,
                prefetch: self.runtime.config().consumer.prefetch,
                ack_wait: self.runtime.config().consumer.ack_wait,
            },
            process,
        });
    }
}

/// Inbox row, handler, commit.
async fn handle<DB, E, F>(
    db: &Database<DB>,
    kind: crate::db::DbKind,
    consumer: &str,
    received: Received<E>,
    handler: &F,
) -> Outcome
where
    DB: Backend,
    E: Event,
    F: for<'t> Fn(
        Received<E>,
        &'t mut Transaction<'static, DB>,
    ) -> BoxFuture<'t, Result<(), BoxError>>,
{
    let mut tx = match db.pool().begin().await {
        Ok(tx) => tx,
        Err(e) => return Outcome::Failed(format!("cannot begin the handler's transaction: {e}")),
    };
    match insert_inbox::<DB>(&mut tx, kind, consumer, &received.id).await {
        Ok(true) => {}
        Ok(false) => {
            let _ = tx.rollback().await;
            return Outcome::Duplicate;
        }
        Err(e) => {
            let _ = tx.rollback().await;
            return Outcome::Failed(format!("cannot insert the inbox row: {e}"));
        }
    }
    let outcome = AssertUnwindSafe(handler(received, &mut tx))
        .catch_unwind()
        .await;
    match outcome {
        Ok(Ok(())) => match tx.commit().await {
            Ok(()) => Outcome::Handled,
            Err(e) => Outcome::Failed(format!("commit failed: {e}")),
        },
        Ok(Err(e)) => {
            let _ = tx.rollback().await;
            Outcome::Failed(e.to_string())
        }
        Err(_) => {
            let _ = tx.rollback().await;
            Outcome::Failed("the handler panicked".into())
        }
    }
}
