use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use futures_util::future::{Either, Ready, ready};
use tower::Service;

/// Service of [`BodyLimitLayer`](super::BodyLimitLayer).
#[derive(Debug, Clone)]
pub(crate) struct BodyLimit<S> {
    pub(super) inner: S,
    pub(super) limit: usize,
}

impl<S> Service<Request<Body>> for BodyLimit<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let limit = match declared {
            Some(len) if len > self.limit => return Either::Left(ready(Ok(too_large()))),
            Some(len) => self.limit.min(len),
            None => self.limit,
        };
        let req = if req.body().is_end_stream() {
            req
        } else {
            req.map(|body| Body::new(http_body_util::Limited::new(body, limit)))
        };
        Either::Right(self.inner.call(req))
    }
}

/// The answer tower-http's limit gives, which the problem+json layer turns into a problem.
fn too_large() -> Response<Body> {
    let mut res = Response::new(Body::from("length limit exceeded"));
    *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Bytes;
    use axum::routing::post;
    use futures_util::StreamExt;
    use tower::ServiceExt;

    use super::*;
    use crate::server::body_limit::BodyLimitLayer;

    fn app() -> Router {
        Router::new()
            .route(
                "/echo",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(BodyLimitLayer::new(4))
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_413_without_running_the_handler() {
        let req = Request::post("/echo")
            .header(header::CONTENT_LENGTH, "5")
            .body(Body::from("12345"))
            .unwrap();
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_413_and_one_within_passes() {
        let chunks = futures_util::stream::iter(["12", "345"])
            .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())));
        let req = Request::post("/echo")
            .body(Body::from_stream(chunks))
            .unwrap();
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let req = Request::post("/echo").body(Body::from("1234")).unwrap();
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
