//! A small service guarded by auth, started with `TestApp`.

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use servicekit::auth::{Claims, PassThrough, Principal, TokenSource};
use servicekit::testing::{TestApp, TestIssuer};
use servicekit::{Context, Service};

/// `/me` (any valid token), `/students` GET (`students:read`) and POST (`students:write`),
/// `/admin` (role `admins`), `/grades` (handler-level scope check), `/tenant` (typed claims),
/// `/forward` (the caller's token, as a pass-through token source would send it).
/// Scope and role names go through `[auth.scopes]` and `[auth.roles]`.
pub(crate) async fn routes(ctx: Context) -> Router {
    let reads = Router::new()
        .route("/students", get(|| async { "[]" }))
        .route_layer(ctx.require_scope("students:read"));
    let writes = Router::new()
        .route("/students", post(|| async { "created" }))
        .route_layer(ctx.require_scope("students:write"));
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(ctx.require_role("admins"));
    Router::new()
        .route("/me", get(me))
        .route("/grades", get(grades))
        .route("/tenant", get(tenant))
        .route("/forward", get(forward))
        .merge(reads)
        .merge(writes)
        .merge(admin)
        .layer(ctx.auth())
}

async fn me(principal: Principal) -> axum::Json<Value> {
    axum::Json(json!({
        "sub": principal.subject(),
        "iss": principal.issuer(),
        "scopes": principal.scopes(),
        "roles": principal.roles(),
        "client_id": principal.client_id(),
    }))
}

async fn grades(principal: Principal) -> Result<&'static str, servicekit::auth::AuthError> {
    principal.require_scope("grades:read")?;
    Ok("grades")
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

async fn tenant(Claims(t): Claims<Tenant>) -> String {
    t.tenant
}

async fn forward(caller: PassThrough) -> String {
    let value = caller
        .authorization()
        .await
        .expect("pass-through never fails");
    value.to_str().unwrap_or_default().to_string()
}

/// Starts the service with `auth` as its `[auth]` section.
pub(crate) async fn spawn_with_auth(auth: Value) -> TestApp {
    let builder = Service::builder("auth-test")
        .set("auth", auth)
        .routes(routes);
    TestApp::spawn(builder).await.expect("auth-test starts")
}

/// Starts the service trusting `issuer` by discovery.
pub(crate) async fn spawn(issuer: &TestIssuer) -> TestApp {
    spawn_with_auth(issuer.auth_config()).await
}

/// The `WWW-Authenticate` header.
pub(crate) fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Asserts a problem+json body and returns it.
pub(crate) async fn problem(res: reqwest::Response) -> Value {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.expect("problem body")
}
