//! Probes of subject-service.

use crate::helpers::{Backend, spawn};
use crate::on_every_backend;

on_every_backend!(ready_reports_database_check);

async fn ready_reports_database_check(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.get("/health/ready").await;

    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"][0]["status"], "pass");
}
