use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use metrics::SharedString;
use tower::Service;

use super::ResponseFuture;
use super::future::InFlight;

/// Service recording RED metrics; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
}

impl<S> HttpMetrics<S> {
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
        let method = method_label(req.method());
        let route: SharedString = match req.extensions().get::<MatchedPath>() {
            Some(path) => SharedString::from(path.as_str().to_owned()),
            None => SharedString::const_str("unmatched"),
        };
        let in_flight = InFlight::start(method.clone(), route.clone());
        ResponseFuture::new(self.inner.call(req), in_flight, Instant::now())
    }
}

/// The method as a label; unknown extension methods share one label to bound cardinality.
fn method_label(method: &Method) -> SharedString {
    SharedString::const_str(match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "_OTHER",
    })
}
