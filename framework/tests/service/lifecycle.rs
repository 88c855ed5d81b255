//! Startup and shutdown order, in process: probes during startup and during the drain.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use servicekit::Service;
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
    let builder = Service::builder("slow-start")
        .set("log.level", "off")
        .routes(|_| async move {
            let _ = release_rx.await;
            Router::new().route("/work", get(|| async { "done" }))
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(builder.run_with(listener, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();

    // The listener answers at once; startup and readiness say "not yet"; routes say 503.
    let mut startup = 0;
    for _ in 0..200 {
        startup = status(&client, &format!("{base}/health/startup")).await;
        if startup != 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(startup, 503);
    assert_eq!(status(&client, &format!("{base}/health/ready")).await, 503);
    assert_eq!(status(&client, &format!("{base}/health/live")).await, 200);
    let res = client.get(format!("{base}/work")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");

    release_tx.send(()).unwrap();
    let mut ready = 0;
    for _ in 0..200 {
        ready = status(&client, &format!("{base}/health/ready")).await;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ready, 200);
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
    let builder = Service::builder("drain")
        .set("log.level", "off")
        .set("server.drain_delay", "500ms")
        .set("server.shutdown_timeout", "10s")
        .routes(|_| async {
            Router::new().route(
                "/slow",
                get(|| async {
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
    while status(&client, &format!("{base}/health/ready")).await != 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/slow");
            tokio::spawn(async move { client.get(url).send().await?.text().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    assert_eq!(status(&client, &format!("{base}/health/ready")).await, 503);
    assert_eq!(status(&client, &format!("{base}/health/live")).await, 200);
    for request in in_flight {
        assert_eq!(request.await.unwrap().unwrap(), "finished");
    }
    task.await.unwrap().unwrap();
}
