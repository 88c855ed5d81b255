//! `Database::transaction` commits on `Ok` and rolls back on `Err`, on panic and when the
//! connection is lost in the middle (which is a 503).

use std::panic::AssertUnwindSafe;

use axum::http::StatusCode;
use futures_util::FutureExt;
use servicekit::Problem;
use servicekit::db::{CommitError, Database};
use servicekit::testing::TestDatabase;

use crate::{NOTES, config, on_every_backend};

async fn count(db: &Database) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes")
        .fetch_one(db.pool())
        .await
        .unwrap();
    n
}

/// Inserts note `id` in a transaction, then ends the work as `outcome` says.
async fn insert_then(db: &Database, id: i64, outcome: &'static str) -> Result<(), CommitError> {
    db.transaction(|tx| {
        Box::pin(async move {
            sqlx::query(db.sql("INSERT INTO notes (id, body) VALUES ($1, $2)"))
                .bind(id)
                .bind("a note")
                .execute(&mut **tx)
                .await?;
            match outcome {
                "err" => Err(CommitError::Db(sqlx::Error::RowNotFound)),
                "panic" => panic!("the work panicked after its insert"),
                _ => Ok(()),
            }
        })
    })
    .await
}

async fn check(db: Database) {
    NOTES.run(&db).await.unwrap();
    insert_then(&db, 1, "ok").await.unwrap();
    assert_eq!(count(&db).await, 1, "{}: committed", db.kind());

    assert!(insert_then(&db, 2, "err").await.is_err());
    let panicked = AssertUnwindSafe(insert_then(&db, 3, "panic"))
        .catch_unwind()
        .await;
    assert!(panicked.is_err(), "the panic continues after the rollback");
    assert_eq!(count(&db).await, 1, "{}: both rolled back", db.kind());
    db.close().await;
}

#[tokio::test]
async fn commit_on_ok_rollback_on_err_and_panic_on_every_backend() {
    on_every_backend(check).await;
}

#[tokio::test]
async fn a_connection_lost_mid_transaction_rolls_back_and_is_503() {
    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let db = Database::<sqlx::Postgres>::open(&config(pg.url()), "svc")
        .await
        .unwrap();
    NOTES.run(&db).await.unwrap();

    let result: Result<(), Problem> = db
        .transaction(|tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO notes (id, body) VALUES (1, 'lost')")
                    .execute(&mut **tx)
                    .await?;
                // The server ends this connection, as a failover or a restart would.
                sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            })
        })
        .await;
    let problem = result.unwrap_err();
    assert_eq!(
        problem.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{problem}"
    );

    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n, 0, "the insert was rolled back");
    db.close().await;
}
