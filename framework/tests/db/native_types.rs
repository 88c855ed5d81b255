//! PostgreSQL's own column types round-trip through the typed pool: UUID, `timestamptz`,
//! JSONB, arrays and NUMERIC (with sqlx's `uuid`, `time`, `json` and `rust_decimal` features,
//! which a service enables in its own `sqlx` dependency), also through sqlx's compile-time
//! checked macros.

use rust_decimal::Decimal;
use secrecy::SecretString;
use servicekit::db::{Database, DatabaseConfig};
use servicekit::testing::TestDatabase;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The table of both tests; `scripts/sqlx-prepare` creates it to check the macros' queries.
const EVENTS: &str = include_str!("events.sql");

type Event = (
    Uuid,
    OffsetDateTime,
    Json<serde_json::Value>,
    Vec<String>,
    Vec<i64>,
);

#[tokio::test]
async fn uuid_timestamptz_jsonb_and_arrays_round_trip_on_postgres() {
    let test_db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let config = DatabaseConfig {
        url: Some(SecretString::from(test_db.url())),
        ..Default::default()
    };
    let db = Database::<sqlx::Postgres>::open(&config, "svc")
        .await
        .unwrap();
    sqlx::query(EVENTS).execute(db.pool()).await.unwrap();
    let event: Event = (
        Uuid::new_v4(),
        // PostgreSQL keeps microseconds.
        OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_000).unwrap(),
        Json(serde_json::json!({"student": "42", "grades": [1, 2]})),
        vec!["urgent".into(), "ünïcode".into()],
        vec![1, -2, i64::MAX],
    );

    sqlx::query("INSERT INTO events (id, at, payload, tags, counts) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.0)
        .bind(event.1)
        .bind(&event.2)
        .bind(&event.3)
        .bind(&event.4)
        .execute(db.pool())
        .await
        .unwrap();
    let read: Event = sqlx::query_as("SELECT * FROM events WHERE id = $1")
        .bind(event.0)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(read, event);

    // The database sees native values, not text: JSONB operators and array containment work.
    let (student,): (String,) =
        sqlx::query_as("SELECT payload->>'student' FROM events WHERE tags @> $1")
            .bind(vec!["urgent".to_string()])
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(student, "42");
    db.close().await;
}

/// A row of `events` as `query_as!` checks it: the column types come from the database.
#[derive(Debug, PartialEq)]
struct EventRow {
    id: Uuid,
    at: OffsetDateTime,
    payload: serde_json::Value,
    tags: Vec<String>,
    counts: Vec<i64>,
}

/// `query!` and `query_as!` on the typed pool, built from the offline data committed in
/// `framework/.sqlx/` (`scripts/sqlx-prepare` writes it; builds set `SQLX_OFFLINE=true`).
#[tokio::test]
async fn checked_macros_run_on_the_typed_pool() {
    let test_db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let config = DatabaseConfig {
        url: Some(SecretString::from(test_db.url())),
        ..Default::default()
    };
    let db = Database::<sqlx::Postgres>::open(&config, "svc")
        .await
        .unwrap();
    sqlx::query(EVENTS).execute(db.pool()).await.unwrap();
    let event = EventRow {
        id: Uuid::new_v4(),
        at: OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap(),
        payload: serde_json::json!({"student": "42"}),
        tags: vec!["urgent".into()],
        counts: vec![7],
    };

    let inserted = sqlx::query!(
        "INSERT INTO events (id, at, payload, tags, counts) VALUES ($1, $2, $3, $4, $5)",
        event.id,
        event.at,
        event.payload,
        &event.tags,
        &event.counts,
    )
    .execute(db.pool())
    .await
    .unwrap();
    assert_eq!(inserted.rows_affected(), 1);
    let read = sqlx::query_as!(
        EventRow,
        "SELECT id, at, payload, tags, counts FROM events WHERE id = $1",
        event.id
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(read, event);
    db.close().await;
}

/// NUMERIC / DECIMAL columns keep exact decimals through the typed pools (sqlx's `rust_decimal`
/// feature), and the database computes with them as numbers, on PostgreSQL and on MariaDB.
#[tokio::test]
async fn numeric_keeps_exact_decimals_on_postgres_and_mariadb() {
    let price = Decimal::new(123_456_789, 2); // 1234567.89
    let next = Decimal::new(123_456_790, 2);

    let pg = TestDatabase::postgres().await.expect("test PostgreSQL");
    let db = Database::<sqlx::Postgres>::open(&crate::config(pg.url()), "svc")
        .await
        .unwrap();
    sqlx::query("CREATE TABLE prices (id BIGINT PRIMARY KEY, amount NUMERIC(12, 2) NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO prices (id, amount) VALUES ($1, $2)")
        .bind(1_i64)
        .bind(price)
        .execute(db.pool())
        .await
        .unwrap();
    let (stored, plus_a_cent): (Decimal, Decimal) =
        sqlx::query_as("SELECT amount, amount + 0.01 FROM prices WHERE id = $1")
            .bind(1_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!((stored, plus_a_cent), (price, next), "PostgreSQL");
    db.close().await;

    let my = TestDatabase::mysql().await.expect("test MariaDB");
    let db = Database::<sqlx::MySql>::open(&crate::config(my.url()), "svc")
        .await
        .unwrap();
    sqlx::query("CREATE TABLE prices (id BIGINT PRIMARY KEY, amount DECIMAL(12, 2) NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO prices (id, amount) VALUES (?, ?)")
        .bind(1_i64)
        .bind(price)
        .execute(db.pool())
        .await
        .unwrap();
    let (stored, plus_a_cent): (Decimal, Decimal) =
        sqlx::query_as("SELECT amount, amount + 0.01 FROM prices WHERE id = ?")
            .bind(1_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!((stored, plus_a_cent), (price, next), "MariaDB");
    db.close().await;
}
