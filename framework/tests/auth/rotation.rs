//! Secrets behind `[auth]` follow rotation: after the secret store's refresh finds a new HMAC
//! secret, PEM key or client secret, it is used without a restart.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use servicekit::testing::{TestApp, TestIssuer, eventually_within};
use servicekit::{Context, Service};

use crate::helpers::routes;

const OLD: &str = "old-secret-old-secret-old-secret-0001";
const NEW: &str = "new-secret-new-secret-new-secret-0002";

fn sign(secret: &str) -> String {
    let claims = json!({"iss": "https://issuer.test", "aud": "api", "sub": "ada",
        "scope": "students:read", "exp": jsonwebtoken::get_current_timestamp() + 300});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Polls `check` until it holds; panics after 30 s, saying what never happened.
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    eventually_within(Duration::from_secs(30), || {
        let holds = check();
        async move {
            if holds.await {
                Ok(())
            } else {
                Err(format!("never: {what}"))
            }
        }
    })
    .await;
}

fn file_ref(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[tokio::test]
async fn a_rotated_hs_secret_is_applied_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hs");
    std::fs::write(&secret, OLD).unwrap();
    let builder = Service::builder("auth-test")
        .set("secrets.refresh_interval", "1s")
        .set(
            "auth",
            json!({"algorithms": ["HS256"], "issuers": [{"issuer": "https://issuer.test",
                   "audiences": ["api"], "hs_secret": file_ref(&secret)}]}),
        )
        .routes(routes);
    let app = TestApp::spawn(builder).await.unwrap();
    let (old, new) = (sign(OLD), sign(NEW));
    // The old token is verified (and cached); the new one is not accepted yet.
    assert_eq!(app.bearer(&old).get("/students").await.status(), 200);
    assert_eq!(app.bearer(&new).get("/students").await.status(), 401);

    std::fs::write(&secret, NEW).unwrap();

    let (app_ref, new_ref) = (&app, &new);
    eventually("the new secret verifies", || async move {
        app_ref.bearer(new_ref).get("/students").await.status() == 200
    })
    .await;
    let res = app.bearer(&old).get("/students").await;
    assert_eq!(res.status(), 401, "the old secret no longer verifies");
    assert!(
        crate::helpers::challenge(&res).contains("signature is invalid"),
        "not served from the verified-token cache"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_rotated_pem_key_is_applied_without_restart() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("public.pem");
    std::fs::write(&pem, issuer.public_pem(Algorithm::RS256)).unwrap();
    let builder = Service::builder("auth-test")
        .set("secrets.refresh_interval", "1s")
        .set(
            "auth",
            json!({"algorithms": ["RS256"], "issuers": [{"issuer": issuer.issuer(),
                   "audiences": [TestIssuer::AUDIENCE], "pem": file_ref(&pem)}]}),
        )
        .routes(routes);
    let app = TestApp::spawn(builder).await.unwrap();
    let old = issuer.token().without_kid().sign();
    assert_eq!(app.bearer(&old).get("/me").await.status(), 200);

    issuer.rotate(Algorithm::RS256);
    let new = issuer.token().without_kid().sign();
    assert_eq!(app.bearer(&new).get("/me").await.status(), 401);
    std::fs::write(&pem, issuer.public_pem(Algorithm::RS256)).unwrap();

    let (app_ref, new_ref) = (&app, &new);
    eventually("the new PEM key verifies", || async move {
        app_ref.bearer(new_ref).get("/me").await.status() == 200
    })
    .await;
    assert_eq!(app.bearer(&old).get("/me").await.status(), 401);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_rotated_client_secret_is_used_for_the_next_token_request() {
    let issuer = TestIssuer::start().await;
    issuer.add_client("rotating-client", OLD);
    // Short tokens, so that a new one is requested every few seconds.
    issuer.set_token_lifetime(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, OLD).unwrap();
    let builder = Service::builder("caller")
        .set("secrets.refresh_interval", "1s")
        .set(
            "auth.clients.students",
            json!({"token_url": issuer.token_url(), "client_id": "rotating-client",
                   "client_secret": file_ref(&secret)}),
        )
        .routes(|ctx: Context| async move {
            let source = ctx.token_source("students")?;
            Ok::<_, servicekit::BoxError>(Router::new().route(
                "/token",
                get(move || async move {
                    match source.authorization().await {
                        Ok(h) => h.to_str().unwrap_or_default().to_string(),
                        Err(e) => format!("error: {e}"),
                    }
                }),
            ))
        });
    let app = TestApp::spawn(builder).await.unwrap();
    let app_ref = &app;
    let fetch = || async move { app_ref.get("/token").await.text().await.unwrap() };
    let first = fetch().await;
    assert!(first.starts_with("Bearer "), "{first}");

    // The identity provider and the secret store rotate: only the new secret works now.
    issuer.add_client("rotating-client", NEW);
    std::fs::write(&secret, NEW).unwrap();

    let (fetch, first) = (&fetch, &first);
    eventually("a token obtained with the new secret", || async move {
        let current = fetch().await;
        current.starts_with("Bearer ") && current != *first
    })
    .await;
    app.shutdown().await.unwrap();
}
