//! The caller's `x-request-deadline-ms` counts only when its verified token is a service
//! (client credentials) token; a person's token, or no token, leaves it ignored.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Request;
use axum::routing::get;
use servicekit::server::Deadline;
use servicekit::testing::{TestApp, TestIssuer};
use servicekit::{Context, Service};

async fn routes(ctx: Context) -> Router {
    Router::new()
        .route(
            "/slow",
            get(|| async {
                // A slow handler.
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        )
        .route(
            "/deadline",
            get(|req: Request<axum::body::Body>| async move {
                req.extensions()
                    .get::<Deadline>()
                    .map(|d| d.remaining().as_millis().to_string())
                    .unwrap_or_else(|| "none".into())
            }),
        )
        .layer(ctx.auth())
}

async fn spawn(issuer: &TestIssuer) -> TestApp {
    let builder = Service::builder("deadline-auth-test")
        .set("auth", issuer.auth_config())
        .routes(|ctx| async move { Ok::<_, servicekit::BoxError>(routes(ctx).await) });
    TestApp::spawn(builder).await.expect("service starts")
}

/// A token from the issuer's token endpoint, by the client credentials grant.
async fn service_token(issuer: &TestIssuer) -> String {
    issuer.add_client("billing", "billing-secret");
    let res: serde_json::Value = reqwest::Client::new()
        .post(issuer.token_url())
        .basic_auth("billing", Some("billing-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, path: &str, token: &str, deadline: &str) -> (u16, String, Duration) {
    let sent = Instant::now();
    let res = app
        .client()
        .get(app.url(path))
        .bearer_auth(token)
        .header("x-request-deadline-ms", deadline)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap(), sent.elapsed())
}

#[tokio::test]
async fn a_service_tokens_deadline_is_honoured() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let token = service_token(&issuer).await;

    let (status, body, elapsed) = call(&app, "/slow", &token, "50").await;
    assert_eq!(status, 504, "{body}");
    assert!(elapsed < Duration::from_millis(290), "{elapsed:?}");
    let (status, body, _) = call(&app, "/deadline", &token, "2000").await;
    assert_eq!(status, 200);
    let left: u64 = body.parse().unwrap();
    assert!(left > 0 && left <= 2000, "{left}");
    // Already spent: not started.
    let (status, _, _) = call(&app, "/slow", &token, "0").await;
    assert_eq!(status, 504);
}

#[tokio::test]
async fn a_persons_token_does_not_make_the_deadline_count() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let person = issuer
        .token()
        .subject("ada")
        .claim("client_id", "web-app")
        .sign();

    let (status, body, _) = call(&app, "/slow", &person, "50").await;
    assert_eq!((status, body.as_str()), (200, "done"));
    let (status, body, _) = call(&app, "/deadline", &person, "2000").await;
    assert_eq!((status, body.as_str()), (200, "none"));
}
