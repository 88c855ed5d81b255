//! A broker down while events are staged, a consumer killed mid-handler, duplicate
//! deliveries, and poison events.

use std::sync::atomic::{AtomicU32, Ordering};

use servicekit::testing::{TestDatabase, eventually_within};

use super::*;

/// A closed port: nothing listens on port 1 of loopback.
const DOWN_URL: &str = "nats://127.0.0.1:1";

#[tokio::test]
async fn staging_never_fails_while_the_broker_is_down_and_a_later_relay_delivers() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let prefix = prefix();
    // The broker is unreachable: the service starts, stages, and stays ready (a warning).
    let (down, db, events) = start(
        service("ledger", DOWN_URL, &prefix, Some(pg.url()))
            .set("events.outbox.backlog_warn_count", 5),
    )
    .await;
    for n in 0..10 {
        stage(
            &db,
            &events,
            Note {
                key: "acct".into(),
                n,
            },
        )
        .await;
    }
    assert_eq!(outbox_depth(&db).await, 10);
    let ready = down.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        body["checks"]["events-broker"][0]["status"], "warn",
        "{body}"
    );
    down.shutdown().await.unwrap();

    // A consumer, then the service again with the broker's real address, over the same outbox.
    let (consumer, consumer_db, consumer_events) =
        start(service("reports", NATS_URL, &prefix, None)).await;
    let seen = Seen::default();
    record(&consumer_events, &consumer_db, "ledger", &seen);
    let (up, db, _events) = start(service("ledger", NATS_URL, &prefix, Some(pg.url()))).await;
    eventually_within(WITHIN, || async {
        let count = seen.lock().unwrap().len();
        if count >= 10 { Ok(()) } else { Err(count) }
    })
    .await;
    let order: Vec<i64> = seen.lock().unwrap().iter().map(|s| s.1).collect();
    assert_eq!(order, (0..10).collect::<Vec<_>>());
    assert_eq!(outbox_depth(&db).await, 0);
    up.shutdown().await.unwrap();
    consumer.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_consumer_killed_mid_handler_is_redelivered_and_applied_once() {
    let prefix = prefix();
    let consumer_pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let consumer_url = consumer_pg.url().to_string();

    // Instance 1 of the consumer runs on a runtime of its own; its handler starts, then the
    // whole runtime is dropped (as a killed process), mid-handler, before any commit or ack.
    let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
    let (kill_tx, kill) = std::sync::mpsc::channel::<()>();
    let first = {
        let prefix = prefix.clone();
        let url = consumer_url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.spawn(async move {
                let (app, db, events) =
                    start(service("archive", NATS_URL, &prefix, Some(&url))).await;
                let insert = insert_received(&db);
                events.on::<Note, _>("journal", move |event: Received<Note>, tx| {
                    let entered_tx = entered_tx.clone();
                    Box::pin(async move {
                        sqlx::query(insert)
                            .bind(event.id.clone())
                            .bind(event.data.key.clone())
                            .bind(event.data.n)
                            .execute(&mut **tx)
                            .await?;
                        let _ = entered_tx.send(());
                        std::future::pending::<()>().await;
                        Ok(())
                    })
                });
                std::mem::forget(app);
            });
            let _ = kill.recv();
            runtime.shutdown_background();
        })
    };

    let (publisher, db, events) = start(service("journal", NATS_URL, &prefix, None)).await;
    stage(
        &db,
        &events,
        Note {
            key: "page".into(),
            n: 1,
        },
    )
    .await;
    tokio::task::spawn_blocking(move || entered.recv_timeout(WITHIN))
        .await
        .unwrap()
        .expect("the first instance's handler started");
    kill_tx.send(()).unwrap();
    first.join().unwrap();

    // Instance 2 gets the redelivery once ack_wait passes and applies it.
    let (second, consumer_db, consumer_events) =
        start(service("archive", NATS_URL, &prefix, Some(&consumer_url))).await;
    let seen = Seen::default();
    record(&consumer_events, &consumer_db, "journal", &seen);
    eventually_within(WITHIN, || async {
        let rows = received(&consumer_db).await;
        if rows.is_empty() { Err(0) } else { Ok(()) }
    })
    .await;
    let attempt_seen = seen.lock().unwrap().clone();
    assert_eq!(attempt_seen.len(), 1);

    // The same event delivered again (a duplicate publish without the dedupe id) is skipped.
    let js = jetstream().await;
    let body = serde_json::json!({
        "specversion": "1.0", "id": attempt_seen[0].2, "source": "journal",
        "type": "note.created", "subject": "page", "data": {"key": "page", "n": 1}
    });
    js.publish(
        format!("{prefix}.journal.note.created"),
        body.to_string().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    // A later, different event passes through the same consumer after the duplicate.
    stage(
        &db,
        &events,
        Note {
            key: "page".into(),
            n: 2,
        },
    )
    .await;
    eventually_within(WITHIN, || async {
        let rows = received(&consumer_db).await;
        if rows.len() >= 2 {
            Ok(())
        } else {
            Err(rows.len())
        }
    })
    .await;
    let rows = received(&consumer_db).await;
    assert_eq!(rows.len(), 2, "the duplicate was applied: {rows:?}");
    second.shutdown().await.unwrap();
    publisher.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_after_max_attempts_while_others_flow() {
    let prefix = prefix();
    let (publisher, db, events) = start(service("inventory", NATS_URL, &prefix, None)).await;
    let (consumer, consumer_db, consumer_events) =
        start(service("shipping", NATS_URL, &prefix, None).set("events.consumer.max_attempts", 3))
            .await;
    let attempts = Arc::new(AtomicU32::new(0));
    let insert = insert_received(&consumer_db);
    {
        let attempts = Arc::clone(&attempts);
        consumer_events.on::<Note, _>("inventory", move |event: Received<Note>, tx| {
            let attempts = Arc::clone(&attempts);
            Box::pin(async move {
                if event.data.key == "poison" {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    return Err("this event always fails".into());
                }
                sqlx::query(insert)
                    .bind(event.id)
                    .bind(event.data.key)
                    .bind(event.data.n)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        });
    }

    stage(
        &db,
        &events,
        Note {
            key: "poison".into(),
            n: 0,
        },
    )
    .await;
    for n in 1..=5 {
        stage(
            &db,
            &events,
            Note {
                key: format!("good{n}"),
                n,
            },
        )
        .await;
    }
    // An event whose data is not a Note: dead-lettered at once.
    let js = jetstream().await;
    let bad = serde_json::json!({
        "specversion": "1.0", "id": "not-a-note", "source": "inventory",
        "type": "note.created", "subject": "x", "data": {"unexpected": true}
    });
    js.publish(
        format!("{prefix}.inventory.note.created"),
        bad.to_string().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    eventually_within(WITHIN, || async {
        let rows = received(&consumer_db).await;
        if rows.len() >= 5 {
            Ok(())
        } else {
            Err(rows.len())
        }
    })
    .await;
    let dlq = format!("{prefix}_shipping_DLQ");
    eventually_within(WITHIN, || async {
        match stream_messages(&dlq).await {
            2 => Ok(()),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "max_attempts deliveries, then the dead letter"
    );
    assert_eq!(received(&consumer_db).await.len(), 5);
    consumer.shutdown().await.unwrap();
    publisher.shutdown().await.unwrap();
}
