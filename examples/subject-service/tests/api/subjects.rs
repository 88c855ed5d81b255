//! `/subjects` CRUD, validation and error mapping.

use serde_json::{Value, json};

use crate::helpers::{Backend, problem, spawn};
use crate::on_every_backend;

on_every_backend!(
    create_then_get,
    list_pages_in_creation_order,
    update_replaces_fields,
    delete_removes_with_enrolments,
    duplicate_code_is_409,
    invalid_input_is_422_naming_fields,
    nul_character_is_422_and_nothing_is_stored,
    unknown_ids_are_404,
);

async fn create_then_get(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.create("math-101", "Calculus", 6).await;

    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/subjects/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["code"], "MATH-101");
    assert_eq!(created["title"], "Calculus");
    assert_eq!(created["credits"], 6);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

async fn list_pages_in_creation_order(backend: Backend) {
    let app = spawn(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.subject(&format!("S-{i}")).await);
    }

    let mut seen = Vec::new();
    let mut url = "/subjects?limit=2".to_string();
    loop {
        let page: Value = app.get(&url).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => url = format!("/subjects?limit=2&after={next}"),
            None => break,
        }
    }

    assert_eq!(seen, ids, "every subject once, in creation order");
    let res = app.get("/subjects?limit=0").await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "limit");
}

async fn update_replaces_fields(backend: Backend) {
    let app = spawn(backend).await;
    let id = app.subject("PHYS-1").await;
    let url = format!("/subjects/{id}");

    for _ in 0..2 {
        // The same values twice are still a 200 (MySQL reports 0 changed rows).
        let res = app
            .put_json(
                &url,
                &json!({"code": "phys-2", "title": "Mechanics", "credits": 8}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let updated: Value = res.json().await.unwrap();
        assert_eq!(updated["code"], "PHYS-2");
        assert_eq!(updated["credits"], 8);
    }
}

async fn delete_removes_with_enrolments(backend: Backend) {
    let app = spawn(backend).await;
    let subject = app.subject("CHEM-1").await;
    let student = app.student("del@example.org").await;
    assert_eq!(app.enrol(&subject, &student).await.status(), 201);
    let url = format!("/subjects/{subject}");

    let res = app.delete(&url).await;
    assert_eq!(res.status(), 204);

    assert_eq!(app.get(&url).await.status(), 404);
    assert_eq!(app.delete(&url).await.status(), 404);
    let enrolments = format!("/subjects/{subject}/enrolments");
    let res = app.get(&enrolments).await;
    assert_eq!(res.status(), 404);
}

async fn duplicate_code_is_409(backend: Backend) {
    let app = spawn(backend).await;
    app.subject("BIO-1").await;

    let res = app.create("bio-1", "Other", 3).await;

    assert_eq!(res.status(), 409);
    assert!(
        problem(res).await["detail"]
            .as_str()
            .unwrap()
            .contains("BIO-1")
    );
    let other = app.subject("BIO-2").await;
    let res = app
        .put_json(
            &format!("/subjects/{other}"),
            &json!({"code": "BIO-1", "title": "x", "credits": 1}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

async fn invalid_input_is_422_naming_fields(backend: Backend) {
    let app = spawn(backend).await;

    let res = app.create("x", " ", 0).await;

    assert_eq!(res.status(), 422);
    let body = problem(res).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "title", "credits"]);
    let res = app.post_json("/subjects", &json!({"code": "AB"})).await;
    assert_eq!(res.status(), 422);
    problem(res).await;
}

/// PostgreSQL cannot store U+0000 in text: the JSON extractor rejects it before any write, on
/// every backend, naming the field.
async fn nul_character_is_422_and_nothing_is_stored(backend: Backend) {
    let app = spawn(backend).await;

    let res = app
        .client()
        .post(app.url("/subjects"))
        .header("content-type", "application/json")
        .body(r#"{"code": "MATH-1", "title": "Alge\u0000bra", "credits": 5}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "title");
    let list: Value = app.get("/subjects").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]), "{list}");
}

async fn unknown_ids_are_404(backend: Backend) {
    let app = spawn(backend).await;
    let url = "/subjects/01930000-0000-7000-8000-000000000000";

    let res = app.get(url).await;
    assert_eq!(res.status(), 404);
    problem(res).await;
    let res = app
        .put_json(url, &json!({"code": "AB", "title": "x", "credits": 1}))
        .await;
    assert_eq!(res.status(), 404);
    let res = app.get("/subjects/not-a-uuid").await;
    assert_eq!(res.status(), 400);
}
