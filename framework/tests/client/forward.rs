//! `ServiceClient::forward`: both bodies stream, the stack (breaker, deadline, retry) applies.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use servicekit::axum::Router;
use servicekit::axum::body::Body;
use servicekit::axum::extract::Request;
use servicekit::axum::http::{self, HeaderMap, StatusCode};
use servicekit::axum::response::IntoResponse;
use servicekit::axum::routing::any;
use servicekit::client::breaker::BreakerState;
use servicekit::client::{ClientConfig, ClientError, ServiceClient};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::downstream::{Answer, Downstream, client, config};

/// Serves `app` on a loopback port.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, app).await });
    format!("http://{addr}")
}

async fn axum_serve(listener: TcpListener, app: Router) {
    servicekit::axum::serve(listener, app).await.unwrap();
}

/// An upstream that answers at once with the request's own body, chunk by chunk as it
/// arrives: a full-duplex echo.
fn echo() -> Router {
    Router::new().route(
        "/echo",
        any(|req: Request| async move {
            Body::from_stream(req.into_body().into_data_stream()).into_response()
        }),
    )
}

/// A request body fed by the test through a channel.
fn channel_body() -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    (tx, Body::from_stream(stream))
}

fn post(path: &str, body: Body) -> http::Request<Body> {
    http::Request::post(path).body(body).unwrap()
}

#[tokio::test]
async fn both_bodies_stream_without_being_held_whole() {
    let url = serve(echo()).await;
    let client = client(&config(&url));
    let (tx, body) = channel_body();

    let res = client.forward(post("/echo", body)).await.unwrap();

    // The answer arrived while the upload is still open: the request was not buffered.
    assert_eq!(res.status(), 200);
    let mut answer = res.into_body().into_data_stream();
    // Each chunk comes back before the next is sent: the answer was not buffered either.
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let mut echoed = 0usize;
    for _ in 0..64 {
        tx.send(chunk.clone()).await.unwrap();
        let mut got = 0;
        while got < chunk.len() {
            let data = answer.next().await.expect("the echo goes on").unwrap();
            assert!(data.iter().all(|b| *b == 7));
            got += data.len();
        }
        echoed += got;
    }
    drop(tx);
    assert!(
        answer.next().await.is_none(),
        "the echo ends with the upload"
    );
    assert_eq!(echoed, 64 * 64 * 1024);
}

#[tokio::test]
async fn a_large_body_goes_up_and_comes_back_whole() {
    let url = serve(echo()).await;
    let mut c = config(&url);
    c.max_response_bytes = 64 * 1024 * 1024;
    let client = client(&c);
    let size = 48 * 1024 * 1024;
    let chunks = futures_util::stream::iter(
        (0..size / 65536).map(|i| Ok::<_, Infallible>(Bytes::from(vec![(i % 251) as u8; 65536]))),
    );

    let res = client
        .forward(post("/echo", Body::from_stream(chunks)))
        .await
        .unwrap();

    let mut body = res.into_body().into_data_stream();
    let (mut total, mut sum) = (0usize, 0u64);
    while let Some(data) = body.next().await {
        let data = data.unwrap();
        total += data.len();
        sum += data.iter().map(|b| u64::from(*b)).sum::<u64>();
    }
    let expected: u64 = (0..size / 65536).map(|i| (i % 251) as u64 * 65536).sum();
    assert_eq!((total, sum), (size, expected));
}

#[tokio::test]
async fn an_answer_over_max_response_bytes_is_refused_or_cut() {
    let url = serve(
        Router::new()
            .route("/sized", any(|| async { vec![1u8; 4096] }))
            .route(
                "/unsized",
                any(|| async {
                    let chunks = futures_util::stream::iter(
                        (0..4).map(|_| Ok::<_, Infallible>(Bytes::from(vec![1u8; 1024]))),
                    );
                    Body::from_stream(chunks)
                }),
            ),
    )
    .await;
    let mut c = config(&url);
    c.max_response_bytes = 2048;
    let client = client(&c);

    let get = |path: &str| http::Request::get(path).body(Body::empty()).unwrap();
    let err = client.forward(get("/sized")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::ResponseTooLarge { limit: 2048, .. }),
        "{err:?}"
    );

    let res = client.forward(get("/unsized")).await.unwrap();
    let cut = servicekit::axum::body::to_bytes(res.into_body(), usize::MAX).await;
    assert!(cut.is_err(), "the stream ends with an error at the limit");
}

#[tokio::test]
async fn an_open_breaker_gives_the_usual_error() {
    let down = Downstream::start(Answer::Status(500)).await;
    let mut c = config(&down.url());
    c.retry.max_attempts = 1;
    c.breaker.enabled = true;
    c.breaker.consecutive_failures = 2;
    c.breaker.cooldown = Duration::from_secs(30);
    let client = client(&c);
    let get = || http::Request::get("/x").body(Body::empty()).unwrap();

    for _ in 0..2 {
        assert_eq!(client.forward(get()).await.unwrap().status(), 500);
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    let err = client.forward(get()).await.unwrap_err();

    assert!(matches!(err, ClientError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(down.hits(), 2, "an open breaker sends nothing");
    let res = servicekit::Problem::from(err).into_response();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_deadline_runs_to_the_headers_then_the_body_streams() {
    // Headers at once, then a body that takes longer than the deadline; and headers late.
    let url = serve(
        Router::new()
            .route(
                "/slow-body",
                any(|| async {
                    let chunks = futures_util::stream::iter(0..4).then(|i| async move {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        Ok::<_, Infallible>(Bytes::from(format!("{i}")))
                    });
                    Body::from_stream(chunks)
                }),
            )
            .route(
                "/slow-headers",
                any(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            ),
    )
    .await;
    let mut c = config(&url);
    c.deadline = Duration::from_millis(300);
    c.attempt_timeout = Duration::from_millis(300);
    c.retry.max_attempts = 1;
    let client = client(&c);
    let get = |path: &str| http::Request::get(path).body(Body::empty()).unwrap();

    let res = client.forward(get("/slow-body")).await.unwrap();
    let body = servicekit::axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..], b"0123", "the body outlived the deadline");

    let err = client.forward(get("/slow-headers")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout { .. } | ClientError::DeadlineExceeded { .. }
        ),
        "{err:?}"
    );
}

/// An upstream that fails the first request to each path with 503, counting requests.
fn flaky(hits: Arc<AtomicUsize>) -> Router {
    Router::new().fallback(any(move |req: Request| {
        let hits = hits.clone();
        async move {
            let n = hits.fetch_add(1, Ordering::SeqCst);
            let body = servicekit::axum::body::to_bytes(req.into_body(), usize::MAX)
                .await
                .unwrap();
            if n == 0 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                body.into_response()
            }
        }
    }))
}

#[tokio::test]
async fn only_bodiless_idempotent_requests_are_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let client = client(&config(&serve(flaky(hits.clone())).await));
    let res = client
        .forward(http::Request::get("/a").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (res.status(), hits.load(Ordering::SeqCst)),
        (StatusCode::OK, 2)
    );

    let hits = Arc::new(AtomicUsize::new(0));
    let client = client_for(&serve(flaky(hits.clone())).await);
    let put = http::Request::put("/b").body(Body::from("a body")).unwrap();
    let res = client.forward(put).await.unwrap();
    assert_eq!(
        (res.status(), hits.load(Ordering::SeqCst)),
        (StatusCode::SERVICE_UNAVAILABLE, 1),
        "a streamed body is sent once"
    );
}

fn client_for(url: &str) -> ServiceClient {
    client(&config(url))
}

#[tokio::test]
async fn host_is_the_instances_and_context_is_propagated() {
    let down = Downstream::start(Answer::Status(204)).await;
    let client = client(&config(&down.url()));
    let req = http::Request::get("/x?q=1")
        .header("host", "gateway.example")
        .header("x-request-id", "req-42")
        .header("x-custom", "kept")
        .body(Body::empty())
        .unwrap();

    let res = client.forward(req).await.unwrap();

    assert_eq!(res.status(), 204);
    let seen: HeaderMap = down.seen().pop().unwrap();
    assert_eq!(seen["host"], down.addr.to_string());
    assert_eq!(seen["x-request-id"], "req-42");
    assert_eq!(seen["x-custom"], "kept");
}

#[tokio::test]
async fn a_path_without_a_slash_is_an_invalid_request() {
    let client = ServiceClient::new("x", &ClientConfig::new("http://127.0.0.1:9")).unwrap();
    let req = http::Request::get("*").body(Body::empty()).unwrap();
    let err = client.forward(req).await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidRequest { .. }), "{err:?}");
}
