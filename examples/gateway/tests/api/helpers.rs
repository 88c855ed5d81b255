//! Upstreams that report what they received, and a gateway in front of them.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use servicekit::ServiceBuilder;
use servicekit::axum::Router;
use servicekit::axum::body::Body;
use servicekit::axum::extract::{Query, Request, State};
use servicekit::axum::response::{IntoResponse, Response};
use servicekit::axum::routing::{any, get};
use servicekit::testing::TestApp;
use tokio::net::TcpListener;

/// A small upstream: every answer names it and echoes the request's path and headers.
/// `/upload` counts the body's bytes as they stream in; `/download?bytes=N` streams N bytes.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub(crate) url: String,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Shared {
    name: &'static str,
    hits: Arc<AtomicUsize>,
}

#[derive(serde::Deserialize)]
struct Download {
    bytes: usize,
}

impl Upstream {
    /// Starts an upstream answering as `name`.
    pub(crate) async fn start(name: &'static str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            name,
            hits: hits.clone(),
        };
        let app = Router::new()
            .route("/health/ready", get(|| async { "ready" }))
            .route("/upload", any(upload))
            .route("/download", get(download))
            .fallback(echo)
            .with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { servicekit::axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}"),
            hits,
        }
    }

    /// Requests received (readiness probes excluded).
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn echo(State(shared): State<Shared>, req: Request) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let all: Vec<&str> = req
                .headers()
                .get_all(k)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let _ = v;
            (k.to_string(), json!(all.join(", ")))
        })
        .collect();
    (
        [
            ("connection", "x-upstream-private"),
            ("x-upstream-private", "1"),
        ],
        servicekit::axum::Json(json!({
            "upstream": shared.name,
            "path": req.uri().to_string(),
            "headers": headers,
        })),
    )
        .into_response()
}

async fn upload(State(shared): State<Shared>, req: Request) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let mut body = req.into_body().into_data_stream();
    let mut total = 0usize;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => total += chunk.len(),
            Err(_) => {
                return (servicekit::axum::http::StatusCode::BAD_REQUEST, "cut").into_response();
            }
        }
    }
    servicekit::axum::Json(json!({ "upstream": shared.name, "received": total })).into_response()
}

async fn download(State(shared): State<Shared>, Query(q): Query<Download>) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let full = q.bytes / chunk.len();
    let rest = q.bytes % chunk.len();
    let chunks = futures_util::stream::iter(
        std::iter::repeat_n(chunk.clone(), full)
            .chain((rest > 0).then(|| chunk.slice(..rest)))
            .map(Ok::<_, Infallible>),
    );
    Body::from_stream(chunks).into_response()
}

/// The two upstreams of the default routes.
pub(crate) struct Upstreams {
    pub(crate) students: Upstream,
    pub(crate) subjects: Upstream,
}

impl Upstreams {
    pub(crate) async fn start() -> Self {
        Self {
            students: Upstream::start("students").await,
            subjects: Upstream::start("subjects").await,
        }
    }
}

/// A gateway in front of `upstreams`, with extra configuration from `configure`.
pub(crate) async fn gateway(
    upstreams: &Upstreams,
    configure: impl FnOnce(ServiceBuilder) -> ServiceBuilder,
) -> TestApp {
    let builder = gateway::service()
        .set("clients.student-service.base_url", &upstreams.students.url)
        .set("clients.subject-service.base_url", &upstreams.subjects.url);
    TestApp::spawn(configure(builder))
        .await
        .expect("the gateway starts")
}

/// The JSON an echoing upstream answered, through the gateway.
pub(crate) async fn echoed(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200, "through the gateway");
    res.json().await.expect("the upstream's JSON")
}

/// Reads a problem+json body, checking the media type.
pub(crate) async fn problem(res: reqwest::Response) -> Value {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.expect("problem body is JSON")
}
