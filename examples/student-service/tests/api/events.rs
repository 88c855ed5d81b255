//! Every write stages its `student.*` event in the outbox, in the write's own transaction: with
//! no `events.url` (as here) the events wait there, in order; a write that fails stages nothing.

use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{Backend, Spawned, spawn};
use crate::on_every_backend;

on_every_backend!(every_write_stages_its_event_and_a_failed_one_none);

/// `(event_type, event_key, data)` of every staged event, oldest first.
async fn outbox(app: &Spawned) -> Vec<(String, String, Value)> {
    let db = app.database().await;
    let rows =
        sqlx::query("SELECT event_type, event_key, body FROM servicekit_outbox ORDER BY seq")
            .fetch_all(db.pool())
            .await
            .expect("the framework's outbox table");
    rows.iter()
        .map(|row| {
            let body: String = row.get("body");
            let envelope: Value = serde_json::from_str(&body).expect("a CloudEvents JSON body");
            (
                row.get("event_type"),
                row.get("event_key"),
                envelope["data"].clone(),
            )
        })
        .collect()
}

async fn every_write_stages_its_event_and_a_failed_one_none(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.create("Ada", "ada@example.org").await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(app.create("Alan", "alan@example.org").await.status(), 201);

    let res = app
        .put_json(
            &format!("/students/{id}"),
            &json!({"name": "Ada King", "email": "ada@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    // Fails (the email is taken): rolled back, with no event.
    let res = app
        .put_json(
            &format!("/students/{id}"),
            &json!({"name": "Ada", "email": "alan@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.delete(&format!("/students/{id}")).await.status(), 204);
    assert_eq!(app.delete(&format!("/students/{id}")).await.status(), 404);

    let staged = outbox(&app).await;
    let ada: Vec<_> = staged.iter().filter(|(_, key, _)| *key == id).collect();
    let types: Vec<&str> = ada.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["student.created", "student.updated", "student.deleted"]
    );
    assert_eq!(ada[0].2, created, "student.created carries the student");
    assert_eq!(
        ada[1].2, updated,
        "student.updated carries the student as updated"
    );
    assert_eq!(ada[2].2, json!({ "id": id }));
    assert_eq!(
        staged.len(),
        4,
        "Alan's student.created, and nothing for the failures"
    );
}
