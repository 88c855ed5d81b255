//! Outgoing tokens: one token request however many concurrent callers, refresh before expiry,
//! discovery of the token endpoint, and the token verifying at a service.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use servicekit::auth::{ClientCredentials, ClientCredentialsConfig, TokenSource};
use servicekit::testing::{TestIssuer, eventually_within};

use crate::helpers::spawn;

fn config(issuer: &TestIssuer, refresh_before: &str) -> ClientCredentialsConfig {
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
    // Tokens live 6 s and the margin (60 s) is longer: refreshed after half their life, and a
    // refresh that fails keeps the current, still unexpired token.
    issuer.set_token_lifetime(Duration::from_secs(6));
    let tokens = ClientCredentials::new(config(&issuer, "60s")).unwrap();
    let first = tokens.authorization().await.unwrap();
    issuer.set_available(false);

    eventually_within(Duration::from_secs(30), || async {
        match issuer.token_requests() {
            n if n >= 2 => Ok(()),
            n => {
                // Until the refresh is attempted, and while it fails, the current token is used.
                assert_eq!(tokens.authorization().await.unwrap(), first);
                Err(format!("never refreshed: {n} token request(s)"))
            }
        }
    })
    .await;
    issuer.set_available(true);
    let second = tokens.authorization().await.unwrap();

    assert_ne!(first, second, "a new token (new jti) was fetched");
    assert_eq!(issuer.token_requests(), 3);
}

#[tokio::test]
async fn a_lifetime_shorter_than_the_margin_is_not_one_request_per_call() {
    let issuer = TestIssuer::start().await;
    // `expires_in: 5` with a 30 s margin: the token is still used for half its life.
    issuer.set_token_lifetime(Duration::from_secs(5));
    let tokens = ClientCredentials::new(config(&issuer, "30s")).unwrap();

    for _ in 0..200 {
        tokens.authorization().await.unwrap();
    }

    assert_eq!(issuer.token_requests(), 1);
}

/// A token endpoint answering `body` to every request; returns its URL and a request counter.
async fn token_endpoint(body: Value) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, count)
}

#[tokio::test]
async fn a_token_without_expires_in_gets_the_default_lifetime() {
    let (url, requests) =
        token_endpoint(json!({"access_token": "opaque-token", "token_type": "Bearer"})).await;
    // The default margin (60 s) equals the default lifetime (60 s): still cached.
    let defaults: ClientCredentialsConfig =
        serde_json::from_value(json!({"token_url": url, "client_id": "me"})).unwrap();
    let tokens = ClientCredentials::new(defaults).unwrap();

    for _ in 0..100 {
        let header = tokens.authorization().await.unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer opaque-token");
    }

    assert_eq!(requests.load(Ordering::SeqCst), 1);
    // A configured default lifetime is used instead.
    let short: ClientCredentialsConfig = serde_json::from_value(
        json!({"token_url": url, "client_id": "me", "default_lifetime": "2s"}),
    )
    .unwrap();
    let tokens = ClientCredentials::new(short).unwrap();
    tokens.authorization().await.unwrap();
    eventually_within(Duration::from_secs(30), || async {
        match requests.load(Ordering::SeqCst) {
            n if n >= 3 => Ok(()),
            n => {
                tokens.authorization().await.unwrap();
                Err(format!("never refreshed: {n} token request(s)"))
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_hanging_token_endpoint_fails_after_auth_http_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let builder = servicekit::Service::builder("caller")
        .set("auth.http_timeout", "1s")
        .set(
            "auth.clients.slow",
            json!({"token_url": url, "client_id": "me", "client_secret": "s"}),
        )
        .routes(|ctx: servicekit::Context| async move {
            let source = ctx.token_source("slow")?;
            Ok::<_, servicekit::BoxError>(axum::Router::new().route(
                "/call",
                axum::routing::get(move || async move {
                    match source.authorization().await {
                        Ok(_) => "token".to_string(),
                        Err(e) => format!("error: {e}"),
                    }
                }),
            ))
        });
    let app = servicekit::testing::TestApp::spawn(builder).await.unwrap();

    let started = Instant::now();
    let text = app.get("/call").await.text().await.unwrap();

    let took = started.elapsed();
    assert!(text.starts_with("error: token request to"), "{text}");
    // The service's 30 s request timeout and the 10 s library default would both be slower.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn discovered_endpoint_and_token_accepted_by_a_service() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let config: ClientCredentialsConfig = serde_json::from_value(json!({
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

    let res = app.bearer(token).get("/students").await;
    assert_eq!(res.status(), 200);
    let me: Value = app.bearer(token).get("/me").await.json().await.unwrap();
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
    let res = app.get("/ok").await;
    assert_eq!(res.text().await.unwrap(), "true");
    assert_eq!(issuer.token_requests(), 1);
}
