//! Outgoing tokens: one token request however many concurrent callers, refresh before expiry,
//! discovery of the token endpoint, and the token verifying at a service.

use std::time::Duration;

use serde_json::{Value, json};
use servicekit::auth::{ClientConfig, ClientCredentials, TokenSource};
use servicekit::testing::TestIssuer;

use crate::helpers::{get_with, spawn};

fn config(issuer: &TestIssuer, refresh_before: &str) -> ClientConfig {
    serde_json::from_value(json!({
        "token_url": issuer.token_url(),
        "client_id": TestIssuer::CLIENT_ID,
        "client_secret": TestIssuer::CLIENT_SECRET,
        "scopes": ["students:read"],
        "refresh_before": refresh_before,
    }))
    .unwrap()
}

#[tokio::test]
async fn concurrent_callers_trigger_one_token_request() {
    let issuer = TestIssuer::start().await;
    let tokens = ClientCredentials::new(config(&issuer, "60s")).unwrap();

    let headers = futures_util::future::join_all((0..32).map(|_| tokens.authorization())).await;

    assert_eq!(issuer.token_requests(), 1);
    let first = headers[0].as_ref().unwrap();
    assert!(first.to_str().unwrap().starts_with("Bearer "));
    assert!(first.is_sensitive());
    assert!(headers.iter().all(|h| h.as_ref().unwrap() == first));
    // Later callers are served from the cache too.
    tokens.authorization().await.unwrap();
    assert_eq!(issuer.token_requests(), 1);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let issuer = TestIssuer::start().await;
    // Tokens live 30 s and are refreshed 60 s before expiry: each use needs a new one.
    issuer.set_token_lifetime(Duration::from_secs(30));
    let tokens = ClientCredentials::new(config(&issuer, "60s")).unwrap();

    let first = tokens.authorization().await.unwrap();
    let second = tokens.authorization().await.unwrap();

    assert_eq!(issuer.token_requests(), 2);
    assert_ne!(first, second, "a new token (new jti) was fetched");
    // A refresh that fails keeps the current, still unexpired token.
    issuer.set_available(false);
    let third = tokens.authorization().await.unwrap();
    assert_eq!(third, second);
}

#[tokio::test]
async fn discovered_endpoint_and_token_accepted_by_a_service() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let config: ClientConfig = serde_json::from_value(json!({
        "issuer": issuer.issuer(),
        "client_id": TestIssuer::CLIENT_ID,
        "client_secret": TestIssuer::CLIENT_SECRET,
        "scopes": ["students:read"],
        "credentials_in_body": true,
    }))
    .unwrap();
    let tokens = ClientCredentials::new(config).unwrap();

    let header = tokens.authorization().await.unwrap();
    let token = header.to_str().unwrap().strip_prefix("Bearer ").unwrap();

    let res = get_with(&app, "/students", token).await;
    assert_eq!(res.status(), 200);
    let me: Value = get_with(&app, "/me", token).await.json().await.unwrap();
    assert_eq!(me["client_id"], TestIssuer::CLIENT_ID);
}

#[tokio::test]
async fn wrong_secret_is_a_clear_error() {
    let issuer = TestIssuer::start().await;
    let mut config = config(&issuer, "60s");
    config.client_secret = Some("wrong".into());
    let err = ClientCredentials::new(config)
        .unwrap()
        .authorization()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the secret is not in the message");
}

#[tokio::test]
async fn token_sources_from_configuration() {
    let issuer = TestIssuer::start().await;
    let builder = servicekit::Service::builder("caller")
        .set(
            "auth.clients.students",
            json!({"token_url": issuer.token_url(), "client_id": TestIssuer::CLIENT_ID,
                   "client_secret": TestIssuer::CLIENT_SECRET}),
        )
        .routes(|ctx: servicekit::Context| async move {
            let source = ctx.token_source("students")?;
            assert!(ctx.token_source("nobody").is_err());
            let header = source.authorization().await?;
            let ok = header.to_str()?.starts_with("Bearer ");
            Ok::<_, servicekit::BoxError>(axum::Router::new().route(
                "/ok",
                axum::routing::get(move || async move { ok.to_string() }),
            ))
        });
    let app = servicekit::testing::TestApp::spawn(builder).await.unwrap();
    let res = app.client().get(app.url("/ok")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "true");
    assert_eq!(issuer.token_requests(), 1);
}
