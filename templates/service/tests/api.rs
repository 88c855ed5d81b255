//! API tests: the real service on port 0{% if database != "sqlite" %}, on a fresh {{database}} database{% endif %}{% if auth %}, with real tokens{% endif %}.

use serde_json::{Value, json};
use servicekit::testing::TestApp;
{% if database != "sqlite" %}use servicekit::testing::TestDatabase;
{% endif %}{% if auth %}use servicekit::testing::TestIssuer;
{% endif %}
/// The running service and what it depends on, dropped together at the end of a test.
struct Running {
    app: TestApp,
{% if auth %}    issuer: TestIssuer,
{% endif %}{% if database != "sqlite" %}    /// Dropping it drops the test database.
    _db: TestDatabase,
{% endif %}}

/// Starts the service as `main` does{% if database != "sqlite" %}, on a new database of the test {{database}} server
/// (`SERVICEKIT_TEST_{% if database == "postgres" %}POSTGRES{% else %}MYSQL{% endif %}_URL`){% endif %}{% if auth %}, trusting a test issuer{% endif %}.
async fn spawn() -> Running {
    let builder = {{crate_name}}::service();
{% if database == "postgres" %}    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let builder = builder.set("database.url", db.url());
{% elsif database == "mysql" %}    let db = TestDatabase::mysql().await.expect("test MariaDB/MySQL");
    let builder = builder.set("database.url", db.url());
{% endif %}{% if auth %}    let issuer = TestIssuer::start().await;
    let builder = builder.set("auth", issuer.auth_config());
{% endif %}    let app = TestApp::spawn(builder).await.expect("service starts");
{% if auth and database != "sqlite" %}    Running {
        app,
        issuer,
        _db: db,
    }
{% else %}    Running { app{% if auth %}, issuer{% endif %}{% if database != "sqlite" %}, _db: db{% endif %} }
{% endif %}}

#[tokio::test]
async fn create_then_get_an_item() {
    let svc = spawn().await;
{% if auth %}    let token = svc.issuer.token().scope("items:read items:write").sign();
    let api = svc.app.bearer(&token);
{% else %}    let api = &svc.app;
{% endif %}
    let res = api.post_json("/items", &json!({"name": "first"})).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
{% if database != "sqlite" %}    assert!(created["created_at"].is_string(), "{created}");
{% endif %}
    let res = api
        .get(&format!("/items/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 200);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["name"], "first");
    assert_eq!(read, created);
}

#[tokio::test]
async fn bad_input_is_a_problem() {
    let svc = spawn().await;
{% if auth %}    let unauthenticated = svc.app.post_json("/items", &json!({"name": "x"})).await;
    assert_eq!(unauthenticated.status(), 401);
    let token = svc.issuer.token().scope("items:read items:write").sign();
    let api = svc.app.bearer(&token);
{% else %}    let api = &svc.app;
{% endif %}
    let res = api.post_json("/items", &json!({"name": "  "})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // No item has this id.
    let res = api.get("/items/0190c7d2-0000-7000-8000-000000000000").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
