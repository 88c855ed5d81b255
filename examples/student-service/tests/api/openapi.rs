//! `/openapi.json`: the document describes every route, its scopes and its errors, and every
//! operation it lists is really served.

use serde_json::Value;
use student_service::api::{READ_SCOPE, WRITE_SCOPE};
use student_service::validation;

use crate::helpers::{Backend, spawn};

async fn document() -> (crate::helpers::Spawned, Value) {
    let service = spawn(Backend::Sqlite).await;
    let res = service.app.get("/openapi.json").await;
    assert_eq!(res.status(), 200, "the document needs no token");
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc = res.json().await.unwrap();
    (service, doc)
}

/// Each `(path, method)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route_with_its_scope() {
    let (_service, doc) = document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "student-service");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut found: Vec<(String, String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, op)| {
            let scopes = op["security"][0]["bearer"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} names the bearer scheme"))
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" ");
            (method, path, scopes)
        })
        .collect();
    found.sort();
    let expected = [
        ("delete", "/students/{id}", WRITE_SCOPE),
        ("get", "/students", READ_SCOPE),
        ("get", "/students/{id}", READ_SCOPE),
        ("post", "/students", WRITE_SCOPE),
        ("put", "/students/{id}", WRITE_SCOPE),
    ]
    .map(|(m, p, s)| (m.to_string(), p.to_string(), s.to_string()));
    assert_eq!(found, expected);

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
}

#[tokio::test]
async fn errors_are_documented_as_problem_json() {
    let (_service, doc) = document().await;
    for (path, method, op) in operations(&doc) {
        let responses = &op["responses"];
        for status in ["401", "403", "default"] {
            assert!(
                responses[status]["$ref"].is_string(),
                "{method} {path} documents {status}: {responses}"
            );
        }
        for (status, response) in responses.as_object().unwrap() {
            if status.starts_with('4') && response.get("content").is_some() {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status} is problem+json"
                );
            }
        }
    }
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(problem["properties"][field].is_object(), "Problem.{field}");
    }
    for name in ["Student", "StudentInput", "Page", "FieldError"] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let input = &doc["components"]["schemas"]["StudentInput"];
    assert_eq!(
        input["additionalProperties"], false,
        "unknown fields are rejected"
    );
    assert_eq!(input["properties"]["name"]["maxLength"], 200);
}

#[tokio::test]
async fn every_documented_operation_is_served_and_demands_a_token() {
    let (service, doc) = document().await;
    let id = "0190b6a6-0000-7000-8000-000000000000";
    for (path, method, _) in operations(&doc) {
        let url = service.url(&path.replace("{id}", id));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = service
            .anonymous()
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method} {path} is served and protected");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
}

#[tokio::test]
async fn the_document_states_the_rules_the_handlers_enforce() {
    let (service, doc) = document().await;

    // Bearer is declared per operation, never document-wide: the operational endpoints are public.
    assert!(doc.get("security").is_none(), "{}", doc["security"]);
    for path in ["/health/live", "/health/ready", "/metrics", "/openapi.json"] {
        let res = service.app.get(path).await;
        assert_eq!(res.status(), 200, "{path} needs no token");
    }
    let input = &doc["components"]["schemas"]["StudentInput"]["properties"];
    assert_eq!(input["name"]["pattern"], validation::NAME_PATTERN);
    assert_eq!(input["name"]["maxLength"], validation::MAX_NAME);
    assert_eq!(input["email"]["pattern"], validation::EMAIL_PATTERN);
    assert_eq!(input["email"]["maxLength"], validation::MAX_EMAIL);
    let limit = doc["paths"]["/students"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit is documented");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(
        limit["schema"]["maximum"],
        student_service::Settings::default().max_page_size
    );

    // What the patterns allow and forbid, the handler does too.
    for (name, email, status) in [
        ("\u{3000}Ada\u{a0}", "ada@example.org", 201),
        ("Ada", "Ada@Example.ORG", 409),
        ("\u{2003}", "b@example.org", 422),
        ("A\u{1c}", "c@example.org", 422),
        ("Ada", " d@example.org", 422),
        ("Ada", "e@example.org\n", 422),
        ("Ada", "f@.example.org", 422),
    ] {
        let res = service.create(name, email).await;
        assert_eq!(res.status(), status, "{name:?} {email:?}");
    }
}
