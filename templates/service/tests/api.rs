//! API tests: the real service on port 0{% if database != "sqlite" %}, on a fresh {{database}} database{% endif %}{% if auth %}, with real tokens{% endif %}.

use serde_json::{Value, json};
{% if auth %}use servicekit::testing::TestIssuer;
{% endif %}{% if database == "postgres" or database == "mysql" %}use servicekit::testing::TestDatabase;
{% endif %}use servicekit::testing::TestApp;

#[tokio::test]
async fn create_then_get_an_item() {
    let builder = {{crate_name}}::service();
{% if database == "postgres" %}    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let builder = builder.set("database.url", db.url());
{% elsif database == "mysql" %}    let db = TestDatabase::mysql().await.expect("test MariaDB/MySQL");
    let builder = builder.set("database.url", db.url());
{% endif %}{% if auth %}    let issuer = TestIssuer::start().await;
    let builder = builder.set("auth", issuer.auth_config());
{% endif %}    let app = TestApp::spawn(builder).await.expect("service starts");
{% if auth %}    let token = issuer.token().scope("items:read items:write").sign();
    let api = app.bearer(&token);
{% else %}    let api = &app;
{% endif %}
    let res = api.post_json("/items", &json!({"name": "first"})).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();

    let res = api
        .get(&format!("/items/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "first");
}

#[tokio::test]
async fn bad_input_is_a_problem() {
{% if auth %}    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn({{crate_name}}::service().set("auth", issuer.auth_config()))
        .await
        .unwrap();
    let unauthenticated = app.post_json("/items", &json!({"name": "x"})).await;
    assert_eq!(unauthenticated.status(), 401);
    let token = issuer.token().scope("items:write").sign();
    let api = app.bearer(&token);
{% else %}    let app = TestApp::spawn({{crate_name}}::service()).await.unwrap();
    let api = &app;
{% endif %}
    let res = api.post_json("/items", &json!({"name": "  "})).await;

    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
