//! A request cut off at its deadline commits nothing, on a real PostgreSQL: the handler's
//! writes go through `db::commit`, which refuses once the time is up and, once begun, makes the
//! server wait for the commit's real outcome.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use servicekit::Service;
use servicekit::db::{self, CommitError, Database};
use servicekit::testing::{TestApp, TestDatabase};

/// `POST /{how}/{id}` inserts `id` in one transaction and commits it with `db::commit`:
/// - `blocking`: the thread is busy for 300 ms between insert and commit (the deadline's timer
///   cannot fire meanwhile, so the commit itself must notice);
/// - `slow`: the insert statement takes 300 ms in the database (the layer cuts the handler
///   while the statement runs);
/// - `plain`: no delay in the handler; the table's deferred trigger makes the COMMIT itself
///   take 300 ms.
async fn insert(
    State(db): State<Database>,
    Path((how, id)): Path<(String, String)>,
) -> Result<StatusCode, servicekit::Problem> {
    let mut tx = db.pool().begin().await.map_err(CommitError::from)?;
    let sql = if how == "slow" {
        "INSERT INTO items (id) SELECT $1 FROM pg_sleep(0.3)"
    } else {
        "INSERT INTO items (id) VALUES ($1)"
    };
    sqlx::query(db.sql(sql))
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(CommitError::from)?;
    if how == "blocking" {
        // A handler that blocks its thread while it holds the transaction.
        std::thread::sleep(Duration::from_millis(300));
    }
    db::commit(tx).await?;
    Ok(StatusCode::CREATED)
}

async fn spawn(database: &TestDatabase) -> TestApp {
    let builder = Service::builder("deadline-test")
        .set("database.url", database.url())
        .set("server.deadline_trusted_networks", ["127.0.0.1"])
        .routes(|ctx| async move {
            let db = ctx.db()?;
            sqlx::raw_sql(
                "CREATE TABLE items (id TEXT PRIMARY KEY);
                 CREATE TABLE marks (id TEXT PRIMARY KEY);
                 CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN IF NEW.id LIKE 'slow-commit-%' THEN PERFORM pg_sleep(0.3); END IF;
                      RETURN NULL; END $$;
                 CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON items
                   DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();",
            )
            .execute(db.pool())
            .await?;
            Ok::<_, servicekit::BoxError>(
                Router::new()
                    .route("/{how}/{id}", post(insert))
                    .with_state(db),
            )
        });
    TestApp::spawn(builder).await.expect("service starts")
}

async fn send(app: &TestApp, path: &str, deadline_ms: &str) -> reqwest::Response {
    app.client()
        .post(app.url(path))
        .header("x-request-deadline-ms", deadline_ms)
        .send()
        .await
        .unwrap()
}

async fn exists(database: &TestDatabase, id: &str) -> bool {
    let pool = sqlx::AnyPool::connect(database.url()).await.unwrap();
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM items WHERE id = $1")
        .bind(id)
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    found.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_commits_nothing() {
    sqlx::any::install_default_drivers();
    let database = TestDatabase::postgres().await.expect("test PostgreSQL");
    let app = spawn(&database).await;

    // The deadline passes while the handler is busy: the commit is refused.
    let res = send(&app, "/blocking/b1", "100").await;
    assert_eq!(res.status(), 504);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // The deadline passes while the insert runs in the database: the handler is cut.
    let res = send(&app, "/slow/s1", "100").await;
    assert_eq!(res.status(), 504);
    // Within the deadline the same writes are saved.
    assert_eq!(send(&app, "/blocking/b2", "5000").await.status(), 201);
    assert_eq!(send(&app, "/slow/s2", "5000").await.status(), 201);
    // A commit that began in time is waited for, though it ends after the deadline: the
    // answer is its real outcome, not a 504 for a saved row.
    assert_eq!(
        send(&app, "/plain/slow-commit-1", "100").await.status(),
        201
    );

    // Stopping closes the pool, so no rolled-back transaction is still pending when we look.
    app.shutdown().await.unwrap();
    assert!(
        !exists(&database, "b1").await,
        "a refused commit saved its row"
    );
    assert!(
        !exists(&database, "s1").await,
        "a cut-off handler saved its row"
    );
    assert!(exists(&database, "b2").await);
    assert!(exists(&database, "s2").await);
    assert!(exists(&database, "slow-commit-1").await);
}

#[tokio::test]
async fn the_servers_own_timeout_also_guards_commits() {
    sqlx::any::install_default_drivers();
    let database = TestDatabase::postgres().await.expect("test PostgreSQL");
    let builder_timeout = "200ms";
    let app = {
        let url = database.url().to_string();
        let builder = Service::builder("timeout-test")
            .set("database.url", url)
            .set("server.request_timeout", builder_timeout)
            .routes(|ctx| async move {
                let db = ctx.db()?;
                sqlx::raw_sql("CREATE TABLE items (id TEXT PRIMARY KEY)")
                    .execute(db.pool())
                    .await?;
                Ok::<_, servicekit::BoxError>(
                    Router::new()
                        .route("/{how}/{id}", post(insert))
                        .with_state(db),
                )
            });
        TestApp::spawn(builder).await.expect("service starts")
    };

    // No caller deadline: `server.request_timeout` (200ms) passes during the blocking work.
    let res = app
        .client()
        .post(app.url("/blocking/t1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    app.shutdown().await.unwrap();
    assert!(!exists(&database, "t1").await);
}
