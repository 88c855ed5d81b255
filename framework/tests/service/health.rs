//! Readiness runs registered checks; liveness never does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use servicekit::Service;
use servicekit::health::check_fn;
use servicekit::testing::TestApp;

#[tokio::test]
async fn a_failing_required_check_makes_ready_503_but_not_live() {
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    let builder = Service::builder("checks")
        .health_check(check_fn("upstream", move || {
            let ok = flag.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("connection refused".to_string())
                }
            }
        }))
        .routes(|_| async { Router::new() });
    let app = TestApp::spawn(builder).await.unwrap();

    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 200);

    healthy.store(false, Ordering::SeqCst);
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/health+json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["checks"]["upstream"][0]["output"],
        "connection refused"
    );
    let res = app.get("/health/live").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn checks_registered_from_the_route_function_count() {
    let builder = Service::builder("ctx-checks").routes(|ctx| async move {
        ctx.health()
            .register(check_fn("cache", || async { Err("cold".to_string()) }).optional());
        Router::new()
    });
    let app = TestApp::spawn(builder).await.unwrap();

    let res = app.get("/health/ready").await;

    assert_eq!(res.status(), 200, "an optional check only warns");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "warn");
}

#[tokio::test]
async fn probe_paths_are_configurable() {
    let builder = Service::builder("paths")
        .set("health.ready_path", "/readyz")
        .set("health.startup_path", "/startupz")
        .routes(|_| async { Router::new() });
    let app = TestApp::spawn(builder).await.unwrap();

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), 404);
    let res = app.get("/startupz").await;
    assert_eq!(res.status(), 200);
}
