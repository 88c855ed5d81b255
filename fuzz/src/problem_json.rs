//! The problem+json mapping of extractor rejections: arbitrary methods, paths, query strings,
//! content types and bodies through a router with `Path`, `Query` and `Json` extractors wrapped
//! in servicekit's `standard_stack`. Every answer must be 2xx, or a 4xx whose body is
//! well-formed problem+json with the same status; never a 5xx.
//!
//! Input: `method byte, path \0 query \0 content-type \0 body`.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{Json, Path, Query};
use axum::http::{HeaderValue, Method, Request, Uri, header};
use axum::routing::{get, post};
use serde::Deserialize;
use servicekit::config::ServerConfig;
use tower::ServiceExt;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Student {
    name: String,
    age: u8,
    email: Option<String>,
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Page {
    page: Option<u32>,
    size: Option<u16>,
    sort: Option<String>,
}

struct State {
    rt: tokio::runtime::Runtime,
    app: Router,
}

static STATE: LazyLock<State> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let router = Router::new()
        .route(
            "/students",
            get(|Query(_): Query<Page>| async { "[]" })
                .post(|Json(_): Json<Student>| async { "created" }),
        )
        .route(
            "/students/{id}",
            get(|Path(_): Path<u64>| async { "one" })
                .put(|Path(_): Path<uuid::Uuid>, Json(_): Json<Student>| async { "updated" }),
        )
        .route(
            "/subjects/{id}/enrolments/{student}",
            post(|Path(_): Path<(u32, String)>, Query(_): Query<Page>| async { "enrolled" }),
        );
    let config = ServerConfig {
        body_limit: 4096,
        ..ServerConfig::default()
    };
    let app = rt.block_on(async { servicekit::server::standard_stack(router, &config) });
    State { rt, app }
});

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::TRACE,
];

/// One fuzz input through this target; panics on a violated property.
pub fn run(data: &[u8]) {
    let Some((method, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(*method) % METHODS.len()].clone();
    let mut parts = rest.splitn(4, |b| *b == 0);
    let path = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let content_type = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default().to_vec();

    let mut target = b"/".to_vec();
    target.extend_from_slice(path);
    if !query.is_empty() {
        target.push(b'?');
        target.extend_from_slice(query);
    }
    // Targets that are no URI never get past the HTTP parser.
    let Ok(uri) = Uri::from_maybe_shared(target) else {
        return;
    };
    let mut req = Request::builder().method(method).uri(uri);
    if let Ok(value) = HeaderValue::from_bytes(content_type)
        && !content_type.is_empty()
    {
        req = req.header(header::CONTENT_TYPE, value);
    }
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };

    let state = &*STATE;
    let res = state
        .rt
        .block_on(state.app.clone().oneshot(req))
        .expect("infallible");
    let status = res.status();
    assert!(!status.is_server_error(), "server error {status}");
    if status.is_success() {
        return;
    }
    assert!(status.is_client_error(), "unexpected status {status}");
    assert_eq!(
        res.headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default()),
        Some("application/problem+json"),
        "{status} without problem+json"
    );
    let bytes = state
        .rt
        .block_on(axum::body::to_bytes(res.into_body(), 1 << 20))
        .expect("body");
    let problem: serde_json::Value = serde_json::from_slice(&bytes).expect("problem is JSON");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
    assert!(problem["type"].is_string(), "{problem}");
}
