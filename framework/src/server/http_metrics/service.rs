use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::Request;
use tower::Service;

use super::ResponseFuture;
use super::future::InFlight;
use super::handles::{RouteTable, method_index};

/// Service recording RED metrics; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
    routes: Arc<RouteTable>,
}

impl<S> HttpMetrics<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            routes: Arc::default(),
        }
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

impl<S, B, ResBody> Service<Request<B>> for HttpMetrics<S>
where
    S: Service<Request<B>, Response = axum::http::Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let route = self.routes.get(
            req.extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
        );
        let in_flight = InFlight::start(route, method_index(req.method()));
        ResponseFuture::new(self.inner.call(req), in_flight, Instant::now())
    }
}
