use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tower::Service;

use super::{DEADLINE_HEADER, Deadline};
use crate::BoxError;
use crate::server::problem::Problem;

/// Service that honours the caller's deadline; see [`DeadlineLayer`](super::DeadlineLayer).
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S> DeadlineService<S> {
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

impl<S, ReqB, ResB> Service<Request<ReqB>> for DeadlineService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let deadline = req
            .headers()
            .get(DEADLINE_HEADER)
            .and_then(Deadline::from_header);
        let Some(deadline) = deadline else {
            let fut = self.inner.call(req);
            return Box::pin(async move { Ok(fut.await?.map(Body::new)) });
        };
        if deadline.is_expired() {
            tracing::debug!("caller's deadline already passed; request not started");
            return Box::pin(async move { Ok(expired("was not started")) });
        }
        req.extensions_mut().insert(deadline);
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline.instant().into(), fut).await {
                Ok(result) => Ok(result?.map(Body::new)),
                Err(_) => {
                    tracing::warn!("request cancelled at the caller's deadline");
                    Ok(expired("did not complete"))
                }
            }
        })
    }
}

fn expired(what: &str) -> Response<Body> {
    Problem::new(StatusCode::GATEWAY_TIMEOUT)
        .with_detail(format!(
            "The request {what} within the caller's deadline ({DEADLINE_HEADER})."
        ))
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::server::DeadlineLayer;

    fn app() -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/left",
                get(|req: Request<Body>| async move {
                    let d = req.extensions().get::<Deadline>().copied();
                    d.map(|d| d.remaining().as_millis().to_string())
                        .unwrap_or_default()
                }),
            )
            .layer(DeadlineLayer::new())
    }

    fn get_with(path: &str, budget: Option<&str>) -> Request<Body> {
        let mut b = Request::get(path);
        if let Some(budget) = budget {
            b = b.header(DEADLINE_HEADER, budget);
        }
        b.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn expired_deadline_is_not_started() {
        let res = app().oneshot(get_with("/slow", Some("0"))).await.unwrap();
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn handler_is_cut_at_the_deadline() {
        let started = std::time::Instant::now();
        let res = app().oneshot(get_with("/slow", Some("50"))).await.unwrap();
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn deadline_reaches_the_handler_and_absent_header_passes() {
        let res = app().oneshot(get_with("/left", Some("800"))).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let left: u64 = std::str::from_utf8(&body).unwrap().parse().unwrap();
        assert!(left > 0 && left <= 800, "{left}");

        let res = app().oneshot(get_with("/left", None)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app()
            .oneshot(get_with("/left", Some("soon")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
