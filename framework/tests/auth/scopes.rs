//! Scopes and roles per route, handler-level checks, typed claims, pass-through, open probes.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use servicekit::testing::TestIssuer;

use crate::helpers::{challenge, problem, spawn, spawn_with_auth};

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let reader = issuer.token().scope("students:read").sign();

    assert_eq!(app.bearer(&reader).get("/students").await.status(), 200);
    let res = app.bearer(&reader).post_json("/students", &json!({})).await;

    assert_eq!(res.status(), 403);
    let challenge = challenge(&res);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"students:write\""),
        "{challenge}"
    );
    let body = problem(res).await;
    assert_eq!(body["status"], 403);
    assert_eq!(body["scope"], "students:write");
    // `scp` arrays count as scopes too.
    let writer = issuer
        .token()
        .claim("scp", json!(["students:write"]))
        .sign();
    let res = app.bearer(&writer).post_json("/students", &json!({})).await;
    assert_eq!(res.status(), 200);
    // A token with no scope at all cannot read.
    let none = issuer.token().sign();
    assert_eq!(app.bearer(&none).get("/students").await.status(), 403);
}

#[tokio::test]
async fn forbidden_challenges_name_the_services_realm() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let plain = issuer.token().sign();

    let unauthenticated = app.get("/students").await;
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(challenge(&unauthenticated), "Bearer realm=\"auth-test\"");
    // `require_scope`, `require_role` and a handler's own check: all the same realm.
    for path in ["/students", "/admin", "/grades"] {
        let res = app.bearer(&plain).get(path).await;
        assert_eq!(res.status(), 403, "{path}");
        let challenge = challenge(&res);
        assert!(
            challenge.starts_with("Bearer realm=\"auth-test\", error=\"insufficient_scope\""),
            "{path}: {challenge}"
        );
    }
}

#[tokio::test]
async fn roles_and_handler_level_checks() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;

    let plain = issuer.token().sign();
    assert_eq!(app.bearer(&plain).get("/admin").await.status(), 403);
    let admin = issuer
        .token()
        .claim("cognito:groups", json!(["admins"]))
        .sign();
    assert_eq!(app.bearer(&admin).get("/admin").await.status(), 200);

    let res = app.bearer(&plain).get("/grades").await;
    assert_eq!(res.status(), 403);
    assert!(challenge(&res).contains("scope=\"grades:read\""));
    let grader = issuer.token().scope("grades:read").sign();
    assert_eq!(app.bearer(&grader).get("/grades").await.status(), 200);
}

#[tokio::test]
async fn typed_claims_and_pass_through() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;

    let token = issuer.token().claim("tenant", "t-42").sign();
    let res = app.bearer(&token).get("/tenant").await;
    assert_eq!(res.text().await.unwrap(), "t-42");
    let res = app.bearer(&issuer.token().sign()).get("/tenant").await;
    assert_eq!(res.status(), 401, "claims that do not fit the type");

    let res = app.bearer(&token).get("/forward").await;
    assert_eq!(res.text().await.unwrap(), format!("Bearer {token}"));
}

#[tokio::test]
async fn probes_stay_public_and_unknown_paths_need_a_token() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    for path in ["/health/live", "/health/ready", "/health/startup"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    let body: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(body["checks"]["auth"][0]["status"], "pass");
    let res = app.get("/students").await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn cognito_access_tokens_use_client_id_and_token_use() {
    let issuer = TestIssuer::start().await;
    let app = spawn_with_auth(json!({
        "algorithms": ["RS256"],
        "issuers": [{"issuer": issuer.issuer(), "audiences": ["cognito-app-client"],
                     "discovery": true, "token_use": "access", "client_id_audience": true}],
    }))
    .await;
    let access = issuer
        .token()
        .without_claim("aud")
        .claim("client_id", "cognito-app-client")
        .claim("token_use", "access")
        .claim("cognito:groups", json!(["teachers"]))
        .alg(Algorithm::RS256)
        .sign();
    let res = app.bearer(&access).get("/me").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["roles"], json!(["teachers"]));
    assert_eq!(body["client_id"], "cognito-app-client");

    let id_token = issuer
        .token()
        .audience("cognito-app-client")
        .claim("token_use", "id")
        .sign();
    assert_eq!(app.bearer(&id_token).get("/me").await.status(), 401);
}

#[tokio::test]
async fn without_auth_config_everything_is_open() {
    let app = servicekit::testing::TestApp::spawn(
        servicekit::Service::builder("open").routes(crate::helpers::routes),
    )
    .await
    .unwrap();
    // Scope requirements pass; handlers that need a principal still say 401.
    let res = app.get("/students").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/me").await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_cognito_resource_server_scope_works_when_configured() {
    let issuer = TestIssuer::start().await;
    let mut auth = issuer.auth_config();
    auth["scopes"] = json!({
        "students:read": "students-api/students.read",
        "students:write": "students-api/students.write",
    });
    let app = spawn_with_auth(auth).await;

    let cognito = issuer.token().scope("students-api/students.read").sign();
    assert_eq!(app.bearer(&cognito).get("/students").await.status(), 200);
    // The code's own name no longer grants anything: only the configured string does.
    let literal = issuer.token().scope("students:read").sign();
    let res = app.bearer(&literal).get("/students").await;
    assert_eq!(res.status(), 403);
    assert!(
        challenge(&res).contains("scope=\"students-api/students.read\""),
        "the challenge names the scope to ask for"
    );
    let res = app
        .bearer(&cognito)
        .post_json("/students", &json!({}))
        .await;
    assert_eq!(res.status(), 403, "read does not grant write");
}

#[tokio::test]
async fn auth0_permissions_and_custom_role_claims_work_when_configured() {
    let issuer = TestIssuer::start().await;
    let mut auth = issuer.auth_config();
    auth["issuers"][0]["scope_claims"] = json!(["permissions"]);
    auth["issuers"][0]["role_claims"] = json!(["https://students.example.org/roles"]);
    auth["roles"] = json!({"admins": "registrar"});
    let app = spawn_with_auth(auth).await;

    let auth0 = issuer
        .token()
        .claim("permissions", json!(["students:read", "students:write"]))
        .claim("https://students.example.org/roles", json!(["registrar"]))
        .sign();
    assert_eq!(app.bearer(&auth0).get("/students").await.status(), 200);
    let res = app.bearer(&auth0).post_json("/students", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.bearer(&auth0).get("/admin").await.status(), 200);
    // With `scope_claims` set, the `scope` claim is not read.
    let scope_only = issuer.token().scope("students:read").sign();
    assert_eq!(app.bearer(&scope_only).get("/students").await.status(), 403);
    let groups_only = issuer
        .token()
        .claim("cognito:groups", json!(["registrar"]))
        .sign();
    assert_eq!(app.bearer(&groups_only).get("/admin").await.status(), 403);
}
