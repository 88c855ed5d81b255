//! `/students` CRUD, validation and error mapping.

use serde_json::{Value, json};

use crate::helpers::{Backend, problem, spawn, spawn_with};
use crate::on_every_backend;

on_every_backend!(
    create_then_get,
    list_pages_in_creation_order,
    update_replaces_fields,
    delete_removes,
    duplicate_email_is_409,
    invalid_input_is_422_naming_fields,
    nul_character_is_422_and_nothing_is_stored,
    malformed_requests_are_4xx_problems,
    unknown_ids_are_404,
    oversized_body_is_413,
);

async fn create_then_get(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.create("Ada Lovelace", "Ada@Example.org").await;

    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/students/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["email"], "ada@example.org");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

async fn list_pages_in_creation_order(backend: Backend) {
    let app = spawn(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let res = app
            .create(&format!("Student {i}"), &format!("s{i}@example.org"))
            .await;
        let body: Value = res.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }

    let mut seen = Vec::new();
    let mut url = "/students?limit=2".to_string();
    loop {
        let page: Value = app.get(&url).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => url = format!("/students?limit=2&after={next}"),
            None => break,
        }
    }

    assert_eq!(seen, ids, "every student once, in creation order");
    let res = app.get("/students?limit=0").await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "limit");
    let res = app.get("/students?limit=101").await;
    assert_eq!(res.status(), 422);
}

async fn update_replaces_fields(backend: Backend) {
    let app = spawn(backend).await;
    let created: Value = app
        .create("Grace", "grace@example.org")
        .await
        .json()
        .await
        .unwrap();
    let url = format!("/students/{}", created["id"].as_str().unwrap());

    let res = app
        .put_json(
            &url,
            &json!({"name": "Grace Hopper", "email": "hopper@example.org"}),
        )
        .await;

    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["name"], "Grace Hopper");
    assert_eq!(updated["email"], "hopper@example.org");
    assert_eq!(updated["created_at"], created["created_at"]);
    // The same values again are still a 200 (MySQL reports 0 changed rows).
    let res = app
        .put_json(
            &url,
            &json!({"name": "Grace Hopper", "email": "hopper@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let fetched: Value = app.get(&url).await.json().await.unwrap();
    assert_eq!(fetched["name"], "Grace Hopper");
}

async fn delete_removes(backend: Backend) {
    let app = spawn(backend).await;
    let created: Value = app
        .create("Alan", "alan@example.org")
        .await
        .json()
        .await
        .unwrap();
    let url = format!("/students/{}", created["id"].as_str().unwrap());

    let res = app.delete(&url).await;
    assert_eq!(res.status(), 204);

    let res = app.get(&url).await;
    assert_eq!(res.status(), 404);
    let res = app.delete(&url).await;
    assert_eq!(res.status(), 404);
}

async fn duplicate_email_is_409(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(app.create("One", "same@example.org").await.status(), 201);

    let res = app.create("Two", "SAME@example.org").await;

    assert_eq!(res.status(), 409);
    let body = problem(res).await;
    assert_eq!(body["status"], 409);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("same@example.org")
    );
    // Updating another student to a taken email is a conflict too.
    let other: Value = app
        .create("Three", "three@example.org")
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .put_json(
            &format!("/students/{}", other["id"].as_str().unwrap()),
            &json!({"name": "Three", "email": "same@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    // Nothing was lost: both original students are intact.
    let page: Value = app.get("/students").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

async fn invalid_input_is_422_naming_fields(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.create("", "not-an-email").await;

    assert_eq!(res.status(), 422);
    let body = problem(res).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email"]);
    // A missing field is 422 too, from the JSON extractor.
    let res = app.post_json("/students", &json!({"name": "x"})).await;
    assert_eq!(res.status(), 422);
    assert!(
        problem(res).await["detail"]
            .as_str()
            .unwrap()
            .contains("email")
    );
}

/// PostgreSQL cannot store U+0000 in text: the JSON extractor rejects it before any write, on
/// every backend, naming the field.
async fn nul_character_is_422_and_nothing_is_stored(backend: Backend) {
    let app = spawn(backend).await;
    let existing: Value = app
        .create("Ada", "ada@example.org")
        .await
        .json()
        .await
        .unwrap();
    let id = existing["id"].as_str().unwrap();

    let create = app
        .client()
        .post(app.url("/students"))
        .header("content-type", "application/json")
        .body(r#"{"name": "a\u0000b", "email": "nul@example.org"}"#)
        .send()
        .await
        .unwrap();
    let update = app
        .client()
        .put(app.url(&format!("/students/{id}")))
        .header("content-type", "application/json")
        .body(r#"{"name": "Ada", "email": "ada\u0000@example.org"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(create.status(), 422);
    assert_eq!(problem(create).await["errors"][0]["field"], "name");
    assert_eq!(update.status(), 422);
    assert_eq!(problem(update).await["errors"][0]["field"], "email");
    let list: Value = app.get("/students").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0], existing, "the update stored nothing");
}

async fn malformed_requests_are_4xx_problems(backend: Backend) {
    let app = spawn(backend).await;

    let res = app
        .client()
        .post(app.url("/students"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    problem(res).await;

    let res = app
        .client()
        .post(app.url("/students"))
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    problem(res).await;

    let res = app.get("/students/not-a-uuid").await;
    assert_eq!(res.status(), 400);
    problem(res).await;

    let res = app
        .client()
        .patch(app.url("/students"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    problem(res).await;
}

async fn unknown_ids_are_404(backend: Backend) {
    let app = spawn(backend).await;
    let url = "/students/01930000-0000-7000-8000-000000000000";

    let res = app.get(url).await;
    assert_eq!(res.status(), 404);
    assert!(
        problem(res).await["detail"]
            .as_str()
            .unwrap()
            .contains("01930000-0000-7000-8000-000000000000")
    );

    let res = app
        .put_json(url, &json!({"name": "x", "email": "x@example.org"}))
        .await;
    assert_eq!(res.status(), 404);
    let res = app.get("/no/such/route").await;
    assert_eq!(res.status(), 404);
    problem(res).await;
}

async fn oversized_body_is_413(backend: Backend) {
    let app = spawn_with(backend, |b| b.set("server.body_limit", 1024)).await;
    let name = "x".repeat(2048);

    let res = app.create(&name, "big@example.org").await;

    assert_eq!(res.status(), 413);
    problem(res).await;
    // Nothing was stored.
    let page: Value = app.get("/students").await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
}
