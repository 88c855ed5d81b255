//! A service that declares its backend gets the typed pool, with everything the framework does
//! for the portable one: migrations, readiness, pool metrics, transactions, 409 problems.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use servicekit::db::Database;
use servicekit::testing::{TestApp, TestDatabase};
use servicekit::{BoxError, Context, Problem, Service, ServiceBuilder};

use crate::NOTES;

/// A notes service on the typed pool of `$db`: `POST /notes/{id}` inserts in a transaction
/// (`/fail` then returns an error, `/panic` panics), `GET /notes` counts.
macro_rules! notes_service {
    ($db:ty, $insert:literal) => {{
        async fn add(
            State(db): State<Database<$db>>,
            Path((id, outcome)): Path<(i64, String)>,
            body: String,
        ) -> Result<StatusCode, Problem> {
            db.transaction(|tx| {
                Box::pin(async move {
                    sqlx::query($insert)
                        .bind(id)
                        .bind(body)
                        .execute(&mut **tx)
                        .await?;
                    match outcome.as_str() {
                        "fail" => Err(Problem::bad_request("the work failed after its insert")),
                        "panic" => panic!("the work panicked after its insert"),
                        _ => Ok(StatusCode::CREATED),
                    }
                })
            })
            .await
        }

        async fn count(State(db): State<Database<$db>>) -> Result<String, Problem> {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notes")
                .fetch_one(db.pool())
                .await?;
            Ok(n.to_string())
        }

        async fn app(ctx: Context) -> Result<Router, BoxError> {
            let db = ctx.db_as::<$db>()?;
            Ok(Router::new()
                .route("/notes/{id}/{outcome}", post(add))
                .route("/notes", get(count))
                .with_state(db))
        }

        Service::builder("notes-service")
            .database::<$db>()
            .migrations(&NOTES)
            .routes(app)
    }};
}

pub(crate) fn postgres_notes() -> ServiceBuilder {
    notes_service!(
        sqlx::Postgres,
        "INSERT INTO notes (id, body) VALUES ($1, $2)"
    )
}

fn mysql_notes() -> ServiceBuilder {
    notes_service!(sqlx::MySql, "INSERT INTO notes (id, body) VALUES (?, ?)")
}

fn sqlite_notes() -> ServiceBuilder {
    notes_service!(sqlx::Sqlite, "INSERT INTO notes (id, body) VALUES (?1, ?2)")
}

async fn count(app: &TestApp) -> String {
    let res = app.get("/notes").await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn post_note(app: &TestApp, path: &str) -> reqwest::Response {
    app.client()
        .post(app.url(path))
        .body("a note")
        .send()
        .await
        .unwrap()
}

/// Migrations ran, readiness checks the pool, `/metrics` shows it; a transaction commits on
/// `Ok`, rolls back on `Err` and on panic; a duplicate key is a 409 problem.
async fn exercise(app: TestApp) {
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body = ready.text().await.unwrap();
    assert!(body.contains("\"database\""), "{body}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("servicekit_db_pool_max_connections{service=\"notes-service\"} 10"),
        "{metrics}"
    );

    assert_eq!(post_note(&app, "/notes/1/ok").await.status(), 201);
    assert_eq!(count(&app).await, "1");

    assert_eq!(post_note(&app, "/notes/2/fail").await.status(), 400);
    assert_eq!(post_note(&app, "/notes/3/panic").await.status(), 500);
    assert_eq!(count(&app).await, "1", "both were rolled back");

    let duplicate = post_note(&app, "/notes/1/ok").await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(
        duplicate.headers()["content-type"],
        "application/problem+json"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn typed_pool_on_postgres() {
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let app = TestApp::spawn(postgres_notes().set("database.url", db.url()))
        .await
        .expect("starts");
    exercise(app).await;
}

#[tokio::test]
async fn typed_pool_on_mariadb() {
    let db = TestDatabase::mysql().await.expect("test MariaDB");
    let app = TestApp::spawn(mysql_notes().set("database.url", db.url()))
        .await
        .expect("starts");
    exercise(app).await;
}

#[tokio::test]
async fn typed_pool_on_the_default_sqlite_file() {
    let app = TestApp::spawn(sqlite_notes()).await.expect("starts");
    exercise(app).await;
}

#[tokio::test]
async fn a_url_of_another_backend_stops_startup_naming_both() {
    let db = TestDatabase::mysql().await.expect("test MariaDB");
    let err = TestApp::spawn(postgres_notes().set("database.url", db.url()))
        .await
        .unwrap_err()
        .to_string();
    for part in [
        "database.url points at mysql",
        "declares a postgres database (sqlx::Postgres)",
        "fix: set database.url / DATABASE_URL to a postgres URL",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert!(
        !err.contains("servicekit:servicekit@"),
        "password shown: {err}"
    );

    // Unset, the URL is the default SQLite file.
    let err = TestApp::spawn(postgres_notes())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("database.url points at sqlite"), "{err}");
}

#[tokio::test]
async fn asking_for_another_driver_than_declared_names_both() {
    let app =
        Service::builder("svc")
            .database::<sqlx::Sqlite>()
            .routes(|ctx: Context| async move {
                let err = ctx.db().unwrap_err().to_string();
                assert!(
                    err.contains("Database<sqlx::Sqlite>, not Database<sqlx::Any>")
                        && err.contains("ctx.db_as::<sqlx::Sqlite>()"),
                    "{err}"
                );
                let err = ctx.db_as::<sqlx::Postgres>().unwrap_err().to_string();
                assert!(err.contains("not Database<sqlx::Postgres>"), "{err}");
                ctx.db_as::<sqlx::Sqlite>().map(|_| Router::new())
            });
    TestApp::spawn(app)
        .await
        .expect("starts")
        .shutdown()
        .await
        .unwrap();
}
