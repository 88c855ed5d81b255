//! SIGTERM with a handler in flight.

use servicekit::testing::TestDatabase;

use super::*;

#[tokio::test]
async fn shutdown_lets_the_handler_in_flight_commit_and_ack_before_the_pool_closes() {
    let prefix = prefix();
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let (publisher, db, events) = start(service("tickets", NATS_URL, &prefix, None)).await;
    let (consumer, consumer_db, consumer_events) =
        start(service("desk", NATS_URL, &prefix, Some(pg.url()))).await;
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let insert = insert_received(&consumer_db);
    {
        let release = Arc::clone(&release);
        consumer_events.on::<Note, _>("tickets", move |event: Received<Note>, tx| {
            let entered_tx = entered_tx.clone();
            let release = Arc::clone(&release);
            Box::pin(async move {
                sqlx::query(insert)
                    .bind(event.id)
                    .bind(event.data.key)
                    .bind(event.data.n)
                    .execute(&mut **tx)
                    .await?;
                let _ = entered_tx.send(());
                release.notified().await;
                Ok(())
            })
        });
    }
    stage(
        &db,
        &events,
        Note {
            key: "t1".into(),
            n: 1,
        },
    )
    .await;
    tokio::time::timeout(WITHIN, entered.recv())
        .await
        .expect("the handler started");

    // The drain starts while the handler runs; it finishes, commits and acks, then the pool
    // closes.
    let stopping = tokio::spawn(consumer.shutdown());
    release.notify_one();
    stopping.await.unwrap().expect("a clean shutdown");

    let pool = sqlx::PgPool::connect(pg.url()).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM received")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "the handler's transaction committed");
    let js = jetstream().await;
    let stream = js.get_stream(format!("{prefix}_tickets")).await.unwrap();
    let mut durable: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer("desk_note_created").await.unwrap();
    let info = durable.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0, "the event was acked: {info:?}");
    assert_eq!(info.num_pending, 0);
    pool.close().await;
    publisher.shutdown().await.unwrap();
}
