//! PostgreSQL connections killed (`pg_terminate_backend`) and the database closed to new
//! connections (`ALLOW_CONNECTIONS false`) under load on student-service: readiness turns 503
//! within 5 s, liveness stays 200, every request is answered (200/201 or a 503 problem+json)
//! within `server.request_timeout` plus a margin, and once the database is back the service
//! recovers without a restart.

use std::time::Duration;

use servicekit::testing::{POSTGRES_URL_VAR, TestDatabase};
use servicekit_tests::ServiceProcess;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};

use super::{Load, ready, statuses, student_exe};

/// `server.request_timeout` of the service under test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// What a loaded machine may add to a request that the service gave up on in time.
const MARGIN: Duration = Duration::from_secs(2);

/// A connection to the server's `postgres` database as superuser.
async fn superuser() -> PgPool {
    let url = std::env::var(POSTGRES_URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("superuser connection to the test PostgreSQL server")
}

/// Terminates every session connected to `db`; returns how many there were.
async fn terminate(admin: &PgPool, db: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(db)
    .fetch_one(admin)
    .await
    .expect("pg_terminate_backend")
}

async fn allow_connections(admin: &PgPool, db: &str, allow: bool) {
    admin
        .execute(AssertSqlSafe(format!(
            "ALTER DATABASE {db} ALLOW_CONNECTIONS {allow}"
        )))
        .await
        .expect("ALTER DATABASE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_killed_and_closed_readiness_503_then_recovers_without_restart() {
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let admin = superuser().await;
    let service = ServiceProcess::start(
        &student_exe(),
        &[
            ("DATABASE_URL", db.url()),
            ("SERVICEKIT__SERVER__REQUEST_TIMEOUT", "2s"),
        ],
    );
    ready(&service).await;
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT + MARGIN + Duration::from_secs(10))
        .build()
        .unwrap();

    let mut load = Load::new();
    load.students(&client, &service);
    let (c, url) = (client.clone(), service.url("/health/live"));
    load.spawn("live", Duration::from_millis(50), move |_| c.get(&url));
    load.wait_for(Duration::from_secs(30), |o| {
        o.kind == "create" && o.is(&[201])
    })
    .await
    .expect("the service works before the outage");

    // 1. Connections killed repeatedly under load.
    let mut killed = 0;
    for _ in 0..5 {
        killed += terminate(&admin, db.name()).await;
        // Kills spread over a few seconds of load.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let after_kills = load.now();
    load.wait_for(Duration::from_secs(30), |o| {
        o.at > after_kills && o.kind == "create" && o.is(&[201])
    })
    .await
    .expect("writes work again after the connections were killed");

    // 2. The database refuses connections: readiness 503 within 5 s.
    allow_connections(&admin, db.name(), false).await;
    terminate(&admin, db.name()).await;
    let closed_at = load.now();
    let unready = service
        .wait_for_status("/health/ready", 503, Duration::from_secs(5))
        .await;
    // The database stays closed for a while under load.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let restored_at = load.now();
    allow_connections(&admin, db.name(), true).await;
    let unready = unready.expect("readiness turns 503 within 5 s of the database closing");

    // 3. Recovery without restart.
    let recovered = service
        .wait_for_status("/health/ready", 200, Duration::from_secs(30))
        .await
        .expect("readiness turns 200 again once the database is back");
    for kind in ["list", "create"] {
        load.wait_for(Duration::from_secs(30), |o| {
            o.at > restored_at && o.kind == kind && o.is(&[200, 201])
        })
        .await
        .unwrap_or_else(|| panic!("{kind} requests recover without a restart"));
    }
    let outcomes = load.stop().await;

    let during: Vec<_> = outcomes
        .iter()
        .filter(|o| o.at > closed_at && o.at < restored_at && o.kind != "live")
        .collect();
    let slowest = outcomes.iter().map(|o| o.elapsed).max().unwrap();
    println!(
        "{killed} sessions killed; readiness 503 after {unready:?}, 200 again {recovered:?} \
         after access was restored; {} requests, slowest {slowest:?}; while closed: {}",
        outcomes.len(),
        statuses(&during),
    );
    for o in &outcomes {
        match o.kind {
            "live" => assert!(o.is(&[200]), "liveness failed: {o:?}"),
            _ => assert!(
                o.is(&[200, 201]) || o.is_problem_503(),
                "neither success nor a 503 problem: {o:?}"
            ),
        }
        assert!(o.elapsed < REQUEST_TIMEOUT + MARGIN, "request hung: {o:?}");
    }
    assert!(
        during.iter().any(|o| o.is_problem_503()),
        "requests while the database was closed should have been refused: {}",
        statuses(&during)
    );
}
