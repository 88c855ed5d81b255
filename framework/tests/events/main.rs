//! The events runtime against the real NATS JetStream on 127.0.0.1:4222 (and one round trip on
//! RabbitMQ, 127.0.0.1:5672), with the outbox and inbox on SQLite, PostgreSQL and MariaDB. Each test uses its own `events.prefix`, so streams
//! and consumers of concurrent tests never meet.

mod delivery;
mod drain;
mod failures;
mod relays;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use servicekit::db::{Database, EmbeddedMigration, Migrations};
use servicekit::events::{Event, Events, Received};
use servicekit::testing::TestApp;
use servicekit::{BoxError, Service, ServiceBuilder};
use tokio::sync::oneshot;

/// The broker of these tests.
pub(crate) const NATS_URL: &str = "nats://127.0.0.1:4222";

/// The RabbitMQ broker of the AMQP round trip (guest/guest on this machine and in CI).
pub(crate) const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The event every test stages: a numbered step of one key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Note {
    pub(crate) key: String,
    pub(crate) n: i64,
}

impl Event for Note {
    const TYPE: &'static str = "note.created";
    fn key(&self) -> String {
        self.key.clone()
    }
}

/// The consumer's table of applied events.
static RECEIVED_SQL: &[EmbeddedMigration] = &[EmbeddedMigration {
    version: 1,
    description: "create received",
    sql: "CREATE TABLE received (event_id VARCHAR(64) NOT NULL, event_key VARCHAR(64) NOT NULL, n BIGINT NOT NULL)",
}];
pub(crate) static RECEIVED: Migrations =
    Migrations::from_static(RECEIVED_SQL, RECEIVED_SQL, RECEIVED_SQL);

/// A fresh prefix for one test.
pub(crate) fn prefix() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// A service named `name` on the broker `url` under `prefix`, quick to retry; `database_url`
/// unset means its own SQLite file.
pub(crate) fn service(
    name: &str,
    url: &str,
    prefix: &str,
    database_url: Option<&str>,
) -> ServiceBuilder {
    let mut builder = Service::builder(name)
        .migrations(&RECEIVED)
        .set("events.url", url)
        .set("events.prefix", prefix)
        .set("events.outbox.poll_interval", "200ms")
        .set("events.outbox.backoff_max", "500ms")
        .set("events.consumer.ack_wait", "2s")
        .set("events.consumer.backoff_min", "50ms")
        .set("events.consumer.backoff_max", "200ms");
    if let Some(url) = database_url {
        builder = builder.set("database.url", url);
    }
    builder
}

/// Starts `builder`, handing out its pool and events from the route function.
pub(crate) async fn start(builder: ServiceBuilder) -> (TestApp, Database, Events) {
    let (send, receive) = oneshot::channel();
    let builder = builder.routes(move |ctx: servicekit::Context| async move {
        let _ = send.send((ctx.db()?, ctx.events()?));
        Ok::<_, BoxError>(Router::new())
    });
    let app = TestApp::spawn(builder).await.expect("the service starts");
    let (db, events) = receive.await.expect("the route function ran");
    (app, db, events)
}

/// Stages `note` in a transaction of its own.
pub(crate) async fn stage(db: &Database, events: &Events, note: Note) {
    let events = events.clone();
    db.transaction(|tx| {
        Box::pin(async move {
            events.stage(tx, &note).await?;
            Ok::<_, servicekit::Problem>(())
        })
    })
    .await
    .expect("staging commits");
}

/// What a consumer saw, in handling order.
pub(crate) type Seen = Arc<Mutex<Vec<(String, i64, String)>>>;

/// The insert into `received`, with the placeholders of `db`'s backend.
pub(crate) fn insert_received(db: &Database) -> &'static str {
    match db.kind() {
        servicekit::db::DbKind::Postgres => {
            "INSERT INTO received (event_id, event_key, n) VALUES ($1, $2, $3)"
        }
        _ => "INSERT INTO received (event_id, event_key, n) VALUES (?, ?, ?)",
    }
}

/// Registers a handler that inserts each note into `received` (of `db`, the consumer's pool)
/// and records it in `seen`.
pub(crate) fn record(events: &Events, db: &Database, source: &str, seen: &Seen) {
    let seen = Arc::clone(seen);
    let insert = insert_received(db);
    events.on::<Note, _>(source, move |event: Received<Note>, tx| {
        let seen = Arc::clone(&seen);
        Box::pin(async move {
            sqlx::query(insert)
                .bind(event.id.clone())
                .bind(event.data.key.clone())
                .bind(event.data.n)
                .execute(&mut **tx)
                .await?;
            seen.lock()
                .unwrap()
                .push((event.data.key, event.data.n, event.id));
            Ok(())
        })
    });
}

/// The rows of `received` (any backend: the placeholder-free query is portable).
pub(crate) async fn received(db: &Database) -> Vec<(String, String, i64)> {
    sqlx::query_as::<_, (String, String, i64)>("SELECT event_id, event_key, n FROM received")
        .fetch_all(db.pool())
        .await
        .expect("received is readable")
}

/// The number of waiting outbox rows.
pub(crate) async fn outbox_depth(db: &Database) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM servicekit_outbox")
        .fetch_one(db.pool())
        .await
        .expect("the outbox is readable")
        .0
}

/// A JetStream context on the test broker, failing loudly when it is down.
pub(crate) async fn jetstream() -> async_nats::jetstream::Context {
    let client = async_nats::connect(NATS_URL).await.unwrap_or_else(|e| {
        panic!("NATS at {NATS_URL} is unreachable ({e}); start nats-server -js")
    });
    async_nats::jetstream::new(client)
}

/// Messages stored in stream `name`.
pub(crate) async fn stream_messages(name: &str) -> u64 {
    let js = jetstream().await;
    let mut stream = js.get_stream(name).await.expect("the stream exists");
    stream.info().await.expect("stream info").state.messages
}

/// A consumer timeout long enough for a loaded machine.
pub(crate) const WITHIN: Duration = Duration::from_secs(30);
