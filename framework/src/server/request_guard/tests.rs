use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt, service_fn};

use super::RequestGuardLayer;
use crate::server::deadline::budget::Budget;
use crate::server::{DEADLINE_HEADER, Inbound, MAX_HEADERS, PROBLEM_JSON, ServerConfig};

async fn boom() -> &'static str {
    panic!("boom")
}

fn config() -> ServerConfig {
    ServerConfig {
        body_limit: 4,
        request_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    }
}

fn app() -> Router {
    Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/boom", get(boom))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/context",
            get(|| async {
                let inbound = Inbound::current().expect("the guard sets the inbound context");
                let id = inbound
                    .request_id()
                    .map(|v| v.to_str().unwrap().to_string());
                let left = inbound.deadline().expect("and the deadline").remaining();
                assert!(Budget::current().is_some(), "and the budget");
                format!(
                    "{};{}",
                    id.unwrap_or_default(),
                    left <= Duration::from_millis(200)
                )
            }),
        )
        // As in the standard stack: axum's own body limit (2 MiB) stays, the guard's is lower.
        .layer(RequestGuardLayer::from_config(&config()))
}

async fn call(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn get_req(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn is_problem(headers: &axum::http::HeaderMap) -> bool {
    headers[header::CONTENT_TYPE] == PROBLEM_JSON
}

#[tokio::test]
async fn a_success_passes_through() {
    let (status, headers, body) = call(get_req("/ok")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!is_problem(&headers));
    assert_eq!(body, "fine");
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem() {
    let (status, headers, body) = call(get_req("/boom")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(is_problem(&headers));
    assert!(
        !body.contains("boom"),
        "the panic message is logged, not sent: {body}"
    );
}

#[tokio::test]
async fn a_service_panicking_in_call_is_a_500_problem() {
    let svc = RequestGuardLayer::from_config(&config()).layer(service_fn(
        |_: Request<Body>| -> std::future::Ready<Result<Response, Infallible>> {
            panic!("in call")
        },
    ));
    let res = svc.oneshot(get_req("/")).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(is_problem(res.headers()));
}

#[tokio::test]
async fn text_errors_become_problems_keeping_their_headers() {
    let (status, headers, _) = call(get_req("/missing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(is_problem(&headers));
    let req = Request::post("/ok").body(Body::empty()).unwrap();
    let (status, headers, _) = call(req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(is_problem(&headers));
    assert!(headers.contains_key(header::ALLOW));
}

#[tokio::test]
async fn a_head_over_the_limits_is_431_without_running_the_handler() {
    let mut b = Request::get("/boom");
    for i in 0..=MAX_HEADERS {
        b = b.header(format!("x-h{i}"), "v");
    }
    let (status, headers, _) = call(b.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(is_problem(&headers));
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_without_running_the_handler() {
    let req = Request::post("/echo")
        .header(header::CONTENT_LENGTH, "5")
        .body(Body::from("12345"))
        .unwrap();
    let (status, headers, body) = call(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_problem(&headers));
    assert!(body.contains("length limit exceeded"), "{body}");
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413_and_one_within_passes() {
    let chunks = futures_util::stream::iter(["12", "345"])
        .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())));
    let req = Request::post("/echo")
        .body(Body::from_stream(chunks))
        .unwrap();
    let (status, headers, _) = call(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_problem(&headers));

    let req = Request::post("/echo").body(Body::from("1234")).unwrap();
    let (status, _, body) = call(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4");
}

#[tokio::test]
async fn the_handler_runs_with_its_inbound_context_and_budget() {
    let req = Request::get("/context")
        .header("x-request-id", "abc")
        // From an untrusted caller: taken off and ignored.
        .header(DEADLINE_HEADER, "0")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "abc;true");
}

#[tokio::test]
async fn a_slow_handler_is_503_at_the_servers_timeout() {
    let (status, headers, _) = call(get_req("/slow")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(is_problem(&headers));
}
