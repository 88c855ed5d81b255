//! `/openapi.json`: every route with its scope and errors, and every documented operation is
//! really served.

use serde_json::{Value, json};
use subject_service::api::{READ_SCOPE, WRITE_SCOPE};

use crate::helpers::{Backend, Spawned, spawn};

async fn document() -> (Spawned, Value) {
    let service = spawn(Backend::Sqlite).await;
    let res = reqwest::get(service.url("/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc = res.json().await.unwrap();
    (service, doc)
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone(), op.clone()));
        }
    }
    ops.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    ops
}

#[tokio::test]
async fn the_document_lists_every_route_with_its_scope_and_problem_errors() {
    let (_service, doc) = document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "subject-service");
    let found: Vec<(String, String, Value)> = operations(&doc)
        .into_iter()
        .map(|(method, path, op)| (method, path, op["security"][0]["bearer"].clone()))
        .collect();
    let expected = [
        ("delete", "/subjects/{id}", WRITE_SCOPE),
        ("get", "/subjects", READ_SCOPE),
        ("get", "/subjects/{id}", READ_SCOPE),
        ("get", "/subjects/{id}/enrolments", READ_SCOPE),
        ("get", "/subjects/{id}/enrolments/{student_id}", READ_SCOPE),
        ("post", "/subjects", WRITE_SCOPE),
        ("post", "/subjects/{id}/enrolments", WRITE_SCOPE),
        ("put", "/subjects/{id}", WRITE_SCOPE),
    ]
    .map(|(m, p, s)| (m.to_string(), p.to_string(), json!([s])));
    assert_eq!(found, expected);

    let enrol = &doc["paths"]["/subjects/{id}/enrolments"]["post"]["responses"];
    assert!(enrol["503"]["content"]["application/problem+json"].is_object());
    for (method, path, op) in operations(&doc) {
        for status in ["401", "403", "default"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
    }
    let input = &doc["components"]["schemas"]["SubjectInput"];
    assert_eq!(input["properties"]["credits"]["minimum"], 1);
    assert_eq!(input["properties"]["credits"]["maximum"], 60);
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let (service, doc) = document().await;
    let id = "0190b6a6-0000-7000-8000-000000000000";
    for (method, path, _) in operations(&doc) {
        let url = service.url(&path.replace("{id}", id).replace("{student_id}", id));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut request = service.client().request(method.clone(), &url);
        if method == reqwest::Method::POST || method == reqwest::Method::PUT {
            request = request.json(&json!({}));
        }
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            // A handler's 404 names the missing subject; the router's would not.
            let body: Value = res.json().await.unwrap();
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(id),
                "{method} {path} reached its handler: {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_document_states_the_rules_the_handlers_enforce() {
    let (service, doc) = document().await;
    assert!(doc.get("security").is_none(), "{}", doc["security"]);
    let input = &doc["components"]["schemas"]["SubjectInput"]["properties"];
    assert_eq!(
        input["title"]["pattern"],
        subject_service::validation::TITLE_PATTERN
    );
    assert_eq!(input["code"]["pattern"], "^[A-Za-z0-9-]+$");

    let post = |body: Value| {
        service
            .client()
            .post(service.url("/subjects"))
            .json(&body)
            .send()
    };
    // JSON Schema's `integer` includes 6.0; a code with spaces breaks its pattern.
    let cases = [
        (json!({"code": "AB-1", "title": "T", "credits": 6.0}), 201),
        (json!({"code": "AB-2", "title": "T", "credits": 6.5}), 422),
        (json!({"code": " AB-3", "title": "T", "credits": 6}), 422),
        (
            json!({"code": "AB-4", "title": "T\u{85}", "credits": 6}),
            422,
        ),
        (
            json!({"code": "AB-5", "title": "\u{3000}", "credits": 6}),
            422,
        ),
    ];
    for (body, status) in cases {
        let res = post(body.clone()).await.unwrap();
        assert_eq!(res.status(), status, "{body}");
    }
    let subject: Value = service.get("/subjects").await.json().await.unwrap();
    assert_eq!(subject["items"][0]["credits"], 6);
    let enrol = service
        .post_json(
            &format!(
                "/subjects/{}/enrolments",
                subject["items"][0]["id"].as_str().unwrap()
            ),
            &json!({"student_id": "01a22d05e43670a4951b555fece239fc"}),
        )
        .await;
    assert_eq!(enrol.status(), 422, "only the hyphenated UUID form");
}
