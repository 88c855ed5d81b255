//! Every response carries a request id: the client's own, or a fresh one.

use axum::Router;
use axum::routing::get;
use servicekit::Service;
use servicekit::testing::TestApp;

#[tokio::test]
async fn request_ids_are_generated_and_echoed() {
    let routes = Router::new().route("/", get(|| async { "hi" }));
    let app = TestApp::spawn(Service::builder("rid").routes(move |_| async move { routes }))
        .await
        .unwrap();

    let res = app.get("/").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let res = app
        .client()
        .get(app.url("/"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");

    // Error responses carry it too.
    let res = app.get("/nope").await;
    assert!(res.headers().contains_key("x-request-id"));
}
