//! Startup and shutdown order, in process: probes during startup and during the drain, and the
//! readiness signal that `TestApp` waits for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use servicekit::Service;
use servicekit::testing::{TestApp, eventually};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

async fn status(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn startup_is_503_until_the_route_function_finishes() {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let (ready_tx, mut ready_rx) = oneshot::channel();
    let builder = Service::builder("slow-start")
        .set("log.level", "off")
        .on_ready(move |addr| {
            let _ = ready_tx.send(addr);
        })
        .routes(|_| async move {
            let _ = release_rx.await;
            Router::new().route("/work", get(|| async { "done" }))
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(builder.run_with(listener, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();

    // The listener answers at once; startup and readiness say "not yet"; routes say 503.
    let startup = eventually(|| async {
        match status(&client, &format!("{base}/health/startup")).await {
            0 => Err("no answer yet"),
            code => Ok(code),
        }
    })
    .await;
    assert_eq!(startup, 503);
    assert_eq!(status(&client, &format!("{base}/health/ready")).await, 503);
    assert_eq!(status(&client, &format!("{base}/health/live")).await, 200);
    let res = client.get(format!("{base}/work")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(
        ready_rx.try_recv().is_err(),
        "on_ready must not fire while the routes are being built"
    );

    release_tx.send(()).unwrap();
    // on_ready fires with the listener's address, once the probes answer 200.
    assert_eq!(ready_rx.await.unwrap(), addr);
    assert_eq!(status(&client, &format!("{base}/health/ready")).await, 200);
    assert_eq!(
        status(&client, &format!("{base}/health/startup")).await,
        200
    );
    assert_eq!(status(&client, &format!("{base}/work")).await, 200);

    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn drain_turns_readiness_503_then_finishes_in_flight_requests() {
    let started = Arc::new(AtomicUsize::new(0));
    let entered = started.clone();
    let (ready_tx, ready_rx) = oneshot::channel();
    let builder = Service::builder("drain")
        .set("log.level", "off")
        .set("server.drain_delay", "500ms")
        .set("server.shutdown_timeout", "10s")
        .on_ready(move |_| {
            let _ = ready_tx.send(());
        })
        .routes(|_| async move {
            Router::new().route(
                "/slow",
                get(move || async move {
                    entered.fetch_add(1, Ordering::SeqCst);
                    // The work of a slow request, longer than the drain delay.
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    "finished"
                }),
            )
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(builder.run_with(listener, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    ready_rx.await.unwrap();
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/slow");
            tokio::spawn(async move { client.get(url).send().await?.text().await })
        })
        .collect();
    eventually(|| async {
        match started.load(Ordering::SeqCst) {
            5 => Ok(()),
            n => Err(format!("{n} of 5 requests in the handler")),
        }
    })
    .await;

    stop_tx.send(()).unwrap();
    eventually(|| async {
        match status(&client, &format!("{base}/health/ready")).await {
            503 => Ok(()),
            other => Err(format!("readiness is {other}")),
        }
    })
    .await;
    assert_eq!(status(&client, &format!("{base}/health/live")).await, 200);
    for request in in_flight {
        assert_eq!(request.await.unwrap().unwrap(), "finished");
    }
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn test_app_settings_yield_to_the_tests_own() {
    let routes = |ctx: servicekit::Context| async move {
        let environment = ctx.config().service.environment.clone();
        Router::new().route("/environment", get(move || async move { environment }))
    };

    // TestApp's own settings apply when the test sets nothing...
    let app = TestApp::spawn(Service::builder("defaults").routes(routes))
        .await
        .unwrap();
    assert_eq!(app.get("/environment").await.text().await.unwrap(), "test");
    app.shutdown().await.unwrap();

    // ... and a test's `set` of the same key wins, and the readiness signal follows the
    // configured startup path (no probing of a guessed URL).
    let builder = Service::builder("overridden")
        .set("service.environment", "staging")
        .set("auth.enabled", false)
        .set("health.startup_path", "/startupz")
        .routes(routes);
    let app = TestApp::spawn(builder).await.unwrap();
    assert_eq!(
        app.get("/environment").await.text().await.unwrap(),
        "staging"
    );
    assert_eq!(app.get("/startupz").await.status(), 200);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn test_app_reports_a_service_that_fails_to_start() {
    let builder = Service::builder("broken")
        .routes(|_| async { Err::<Router, _>(servicekit::BoxError::from("no routes today")) });
    let err = TestApp::spawn(builder).await.unwrap_err();
    assert!(err.to_string().contains("no routes today"), "{err}");
}

#[tokio::test]
async fn request_helpers_send_json_and_the_bearer_token() {
    let echo = |method: &'static str| {
        move |headers: axum::http::HeaderMap, body: String| async move {
            let auth = headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let kind = headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            format!("{method}|{auth}|{kind}|{body}")
        }
    };
    let builder = Service::builder("echo").routes(move |_| async move {
        Router::new().route(
            "/echo",
            get(echo("GET"))
                .post(echo("POST"))
                .put(echo("PUT"))
                .delete(echo("DELETE")),
        )
    });
    let app = TestApp::spawn(builder).await.unwrap();
    let body = serde_json::json!({"a": 1});

    assert_eq!(app.get("/echo").await.text().await.unwrap(), "GET|||");
    assert_eq!(
        app.post_json("/echo", &body).await.text().await.unwrap(),
        "POST||application/json|{\"a\":1}"
    );
    let as_user = app.bearer("t0k3n");
    assert_eq!(
        as_user.put_json("/echo", &body).await.text().await.unwrap(),
        "PUT|Bearer t0k3n|application/json|{\"a\":1}"
    );
    assert_eq!(
        as_user.delete("/echo").await.text().await.unwrap(),
        "DELETE|Bearer t0k3n||"
    );
    assert_eq!(app.delete("/nowhere").await.status(), 404);
}
