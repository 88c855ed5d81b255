//! servicekit's path: a publishing and a consuming service in one process, each on its own
//! PostgreSQL database, talking through NATS JetStream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use futures_util::StreamExt;
use servicekit::events::{Event, Events, Received};
use servicekit::{BoxError, Context, Problem, Service, ServiceBuilder};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{BenchEvent, Recorder, Settings, Summary};

/// The publishing service's name (its stream).
const PUBLISHER: &str = "bench-publisher";
/// The consuming service's name (its durable consumer).
const CONSUMER: &str = "bench-consumer";

impl Event for BenchEvent {
    const TYPE: &'static str = "bench.event";

    fn key(&self) -> String {
        self.key.to_string()
    }
}

/// A running service and the way to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), servicekit::Error>>,
}

impl Running {
    /// Starts `builder` on a loopback port and waits until it is ready.
    async fn start(builder: ServiceBuilder) -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let (ready, is_ready) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let builder = builder.on_ready(move |_| {
            let _ = ready.send(());
        });
        let task = tokio::spawn(builder.run_with(listener, async move {
            let _ = stopped.await;
        }));
        if is_ready.await.is_err() {
            return Err(match task.await {
                Ok(Err(e)) => format!("a bench service did not start: {e}").into(),
                _ => "a bench service stopped before it was ready".into(),
            });
        }
        Ok(Self { stop, task })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A service of the benchmark on database `db` (created afresh), quiet, with the run's events
/// prefix.
async fn service(name: &str, settings: &Settings, db: &str) -> Result<ServiceBuilder, BoxError> {
    let mut admin = PgConnection::connect(&format!("{}/postgres", settings.pg)).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(Service::builder(name)
        .set("database.url", format!("{}/{db}", settings.pg))
        .set("events.url", settings.nats_url.as_str())
        .set("events.prefix", settings.prefix.as_str())
        .set("server.drain_delay", "0s")
        .set("auth.enabled", false)
        .set("log.level", "warn"))
}

/// Runs servicekit's path: `settings.concurrency` producers each stage one event per
/// transaction until `settings.total()` are staged; the consumer's handler records each.
pub async fn run(settings: &Settings) -> Result<Summary, BoxError> {
    let recorder = Arc::new(Recorder::new(settings));
    let seen = Arc::clone(&recorder);
    let consumer = service(CONSUMER, settings, &format!("{}_consumer", settings.prefix))
        .await?
        .routes(move |ctx: Context| async move {
            ctx.events()?.on::<BenchEvent, _>(
                PUBLISHER,
                move |event: Received<BenchEvent>, _tx| {
                    seen.record(&event.data);
                    Box::pin(async { Ok(()) })
                },
            );
            Ok::<_, BoxError>(Router::new())
        });
    let consumer = Running::start(consumer).await?;

    let (handles, handed) = oneshot::channel();
    let publisher = service(
        PUBLISHER,
        settings,
        &format!("{}_publisher", settings.prefix),
    )
    .await?
    .routes(move |ctx: Context| async move {
        let _ = handles.send((ctx.db()?, ctx.events()?));
        Ok::<_, BoxError>(Router::new())
    });
    let publisher = Running::start(publisher).await?;
    let (db, events): (servicekit::db::Database, Events) = handed.await?;

    let mut outcome = Ok(());
    for (start, end) in [(0, settings.warmup), (settings.warmup, settings.total())] {
        produce(&db, &events, settings, start, end).await?;
        outcome = recorder.wait_for(end, settings.timeout).await;
        if outcome.is_err() {
            break;
        }
    }
    publisher.stop().await;
    consumer.stop().await;
    clean_up(settings).await;
    outcome?;
    Ok(recorder.summary("servicekit"))
}

/// Stages events `start..end`, one per transaction, from `settings.concurrency` tasks.
async fn produce(
    db: &servicekit::db::Database,
    events: &Events,
    settings: &Settings,
    start: u64,
    end: u64,
) -> Result<(), BoxError> {
    let next = Arc::new(AtomicU64::new(start));
    let mut producers = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency {
        let (db, events, next, settings) = (
            db.clone(),
            events.clone(),
            Arc::clone(&next),
            settings.clone(),
        );
        producers.spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= end {
                    return Ok::<_, Problem>(());
                }
                let event = settings.event(seq);
                let events = events.clone();
                db.transaction(|tx| {
                    Box::pin(async move {
                        events.stage(tx, &event).await?;
                        Ok::<_, Problem>(())
                    })
                })
                .await?;
            }
        });
    }
    while let Some(produced) = producers.join_next().await {
        produced?.map_err(|p| format!("staging failed: {p:?}"))?;
    }
    Ok(())
}

/// Drops the run's databases and streams (best effort: a failure only leaves them behind).
async fn clean_up(settings: &Settings) {
    if let Ok(mut admin) = PgConnection::connect(&format!("{}/postgres", settings.pg)).await {
        for role in ["publisher", "consumer"] {
            let drop = format!(
                "DROP DATABASE IF EXISTS {}_{role} WITH (FORCE)",
                settings.prefix
            );
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut admin)
                .await;
        }
        let _ = admin.close().await;
    }
    if let Ok(client) = async_nats::connect(settings.nats_url.as_str()).await {
        let js = async_nats::jetstream::new(client);
        let names: Vec<String> = js
            .stream_names()
            .filter_map(|name| async move { name.ok() })
            .collect()
            .await;
        for name in names.iter().filter(|n| n.starts_with(&settings.prefix)) {
            let _ = js.delete_stream(name).await;
        }
    }
}
