//! Panics, timeouts and rejections all leave as problem+json.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use servicekit::Service;
use servicekit::testing::TestApp;

async fn spawn(
    routes: Router,
    configure: impl FnOnce(servicekit::ServiceBuilder) -> servicekit::ServiceBuilder,
) -> TestApp {
    let builder =
        configure(Service::builder("errors-test").routes(move |_ctx| async move { routes }));
    TestApp::spawn(builder).await.expect("service starts")
}

fn explode() -> &'static str {
    panic!("secret detail 42")
}

async fn problem(res: reqwest::Response) -> serde_json::Value {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_panicking_handler_is_an_opaque_500_and_the_service_survives() {
    let routes = Router::new()
        .route("/boom", get(|| async { explode() }))
        .route("/ok", get(|| async { "ok" }));
    let app = spawn(routes, |b| b).await;

    let res = app.get("/boom").await;

    assert_eq!(res.status(), 500);
    let body = problem(res).await;
    assert!(!body.to_string().contains("secret detail"), "{body}");
    let res = app.get("/ok").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_slow_handler_times_out_with_503() {
    let routes = Router::new().route(
        "/slow",
        get(|| async {
            // A handler far slower than the request timeout.
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let app = spawn(routes, |b| b.set("server.request_timeout", "200ms")).await;

    let res = app.get("/slow").await;

    assert_eq!(res.status(), 503);
    let body = problem(res).await;
    assert_eq!(body["detail"], "The request did not complete within 200ms.");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn(
        Router::new().route("/only-get", get(|| async { "x" })),
        |b| b,
    )
    .await;

    let res = app.get("/missing").await;
    assert_eq!(res.status(), 404);
    assert_eq!(problem(res).await["status"], 404);

    let res = app.delete("/only-get").await;
    assert_eq!(res.status(), 405);
    assert!(res.headers().contains_key("allow"));
    problem(res).await;
}

#[tokio::test]
async fn a_route_function_error_fails_startup_with_its_message() {
    let builder = Service::builder("failing")
        .routes(|_ctx| async { Err::<Router, _>("the flux capacitor is missing") });

    let err = TestApp::spawn(builder).await.unwrap_err();

    assert!(
        err.to_string().contains("the flux capacitor is missing"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_app_settings_fail_startup_naming_the_key() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        page_size: u32,
    }
    let builder = Service::builder("settings")
        .set("app.page_size", "many")
        .routes(|ctx| async move {
            let _settings: Settings = ctx.settings()?;
            Ok::<_, servicekit::BoxError>(Router::new())
        });

    let err = TestApp::spawn(builder).await.unwrap_err().to_string();

    assert!(err.contains("`app.page_size`"), "{err}");
    assert!(err.contains("many"), "{err}");
}
