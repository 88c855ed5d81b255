use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either, FutureExt, Ready, Then, ready};
use tower::Service;

use crate::BoxError;
use crate::server::problem::Problem;

/// The longest plain-text error body kept as `detail`.
const MAX_DETAIL: usize = 4096;

/// Service that rewrites plain-text and empty error responses as problem+json.
#[derive(Debug, Clone)]
pub struct ProblemJson<S> {
    inner: S,
}

impl<S> ProblemJson<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The response future's second stage: ready for successes, boxed only for rewrites.
type Rewrite =
    Either<Ready<Result<Response, Infallible>>, BoxFuture<'static, Result<Response, Infallible>>>;

impl<S, B> Service<Request<Body>> for ProblemJson<S>
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Then<S::Future, Rewrite, fn(Result<Response<B>, Infallible>) -> Rewrite>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.inner.call(req).then(rewrite::<B> as fn(_) -> Rewrite)
    }
}

fn rewrite<B>(result: Result<Response<B>, Infallible>) -> Rewrite
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Ok(response) = result;
    let response = response.map(Body::new);
    if !needs_rewrite(&response) {
        return Either::Left(ready(Ok(response)));
    }
    Either::Right(Box::pin(async move { Ok(to_problem(response).await) }))
}

/// Error responses without a body, or with a plain-text one, are rewritten; structured bodies
/// (problem+json, health+json, the service's own JSON) are left alone.
pub(crate) fn needs_rewrite(response: &Response) -> bool {
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return false;
    }
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.to_str().is_ok_and(|ct| ct.starts_with("text/plain")),
    }
}

pub(crate) async fn to_problem(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAIL)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut problem = Problem::new(parts.status);
    if let Some(detail) = text {
        problem = problem.with_detail(detail);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let (new_parts, body) = problem.into_response().into_parts();
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ProblemJsonLayer;
    use crate::server::problem::PROBLEM_JSON;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(app: Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = app.oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    fn app() -> Router {
        Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/text",
                get(|| async { (StatusCode::BAD_REQUEST, "bad thing") }),
            )
            .route(
                "/json",
                get(|| async {
                    (
                        StatusCode::CONFLICT,
                        axum::Json(serde_json::json!({"own": true})),
                    )
                }),
            )
            .layer(ProblemJsonLayer::new())
    }

    fn get_req(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn success_passes_through() {
        let (status, _, body) = call(app(), get_req("/ok")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"fine");
    }

    #[tokio::test]
    async fn text_errors_become_problems() {
        let (status, headers, body) = call(app(), get_req("/text")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["detail"], "bad thing");
        assert_eq!(body["status"], 400);
    }

    #[tokio::test]
    async fn method_not_allowed_keeps_allow_header() {
        let req = Request::post("/ok").body(Body::empty()).unwrap();
        let (status, headers, _) = call(app(), req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(headers.contains_key(header::ALLOW));
    }

    #[tokio::test]
    async fn own_json_errors_are_kept() {
        let (status, headers, body) = call(app(), get_req("/json")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body, br#"{"own":true}"#);
    }
}
