//! Probes of student-service, with its database check.

use crate::helpers::{Backend, spawn};
use crate::on_every_backend;

on_every_backend!(ready_reports_database_check, live_and_startup_pass);

async fn ready_reports_database_check(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.get("/health/ready").await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/health+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pass");
    assert_eq!(body["checks"]["database"][0]["status"], "pass");
    assert_eq!(body["checks"]["database"][0]["observedUnit"], "ms");
}

async fn live_and_startup_pass(backend: Backend) {
    let app = spawn(backend).await;
    for path in ["/health/live", "/health/startup"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "pass", "{path}");
    }
}

/// Dropping the database under a running service makes readiness fail while liveness stays up.
#[tokio::test]
async fn dropped_database_makes_ready_503_and_live_200() {
    let mut app = spawn(Backend::Postgres).await;
    let db = app.db.take().expect("postgres database");

    drop(db); // DROP DATABASE ... WITH (FORCE): terminates the pool's connections

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "fail");
    assert_eq!(body["checks"]["database"][0]["status"], "fail");
    assert!(body["checks"]["database"][0]["output"].is_string());
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);
    // Requests that need the database fail cleanly, as problem+json, not by hanging.
    let res = app.get("/students").await;
    assert!(res.status().is_server_error(), "{}", res.status());
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
