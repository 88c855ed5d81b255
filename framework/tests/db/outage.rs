//! A typed pool recovers like the portable one: a database that stops accepting connections
//! makes requests fail fast with 503 problems and readiness fail, until it is back; rotated
//! credentials move the pool without a restart.

use secrecy::SecretString;
use servicekit::db::{Database, DatabaseConfig};
use servicekit::testing::{POSTGRES_URL_VAR, TestApp, TestDatabase, eventually};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::typed::postgres_notes;

/// Runs `sql` on the test server's admin database.
async fn admin(sql: String) {
    let url = std::env::var(POSTGRES_URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&url).await.unwrap();
    conn.execute(AssertSqlSafe(sql)).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_typed_pool_answers_503_while_its_database_is_away_and_recovers() {
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let app = TestApp::spawn(postgres_notes().set("database.url", db.url()))
        .await
        .expect("starts");
    assert_eq!(app.get("/notes").await.status(), 200);

    // The database stops accepting connections and ends the ones it has.
    let name = db.name();
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    eventually(|| async {
        let res = app.get("/notes").await;
        let problem = res.headers().get("content-type").map(|v| v.as_bytes())
            == Some(b"application/problem+json");
        match (res.status().as_u16(), problem) {
            (503, true) => Ok(()),
            _ => Err("no 503 problem yet"),
        }
    })
    .await;
    assert_eq!(app.get("/health/ready").await.status(), 503);

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    eventually(|| async {
        let res = app.get("/notes").await;
        match res.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("{status} {}", res.text().await.unwrap())),
        }
    })
    .await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_typed_pool_follows_rotated_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let config = DatabaseConfig {
        url: Some(SecretString::from(url("a.db"))),
        ..Default::default()
    };
    let db = Database::<sqlx::Sqlite>::open(&config, "svc")
        .await
        .unwrap();
    sqlx::query("CREATE TABLE only_in_a (v TEXT)")
        .execute(db.pool())
        .await
        .unwrap();

    db.rotate_credentials(&SecretString::from(url("b.db")))
        .await
        .unwrap();
    let moved = sqlx::query("SELECT v FROM only_in_a")
        .fetch_all(db.pool())
        .await;
    assert!(moved.is_err(), "new connections open b.db");

    // A URL of another backend is refused and the pool keeps its credentials.
    let err = db
        .rotate_credentials(&SecretString::from("postgres://u:pw@127.0.0.1:1/x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot switch to postgres"), "{err}");
    db.close().await;
}
