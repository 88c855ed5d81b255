use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::handles::RouteHandles;

/// Counts a request as active from creation until drop, so cancelled requests are counted out.
#[derive(Debug)]
pub(crate) struct InFlight {
    route: Arc<RouteHandles>,
    method: usize,
}

impl InFlight {
    /// `method` is an index from [`method_index`](super::handles::method_index).
    pub(crate) fn start(route: Arc<RouteHandles>, method: usize) -> Self {
        route.active(method).increment(1.0);
        Self { route, method }
    }

    /// Counts the request as answered with `status` after `latency`.
    pub(crate) fn finish(&self, status: u16, latency: Duration) {
        self.route
            .finish(self.method, status, latency.as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.route.active(self.method).decrement(1.0);
    }
}

pin_project! {
    /// Response future of [`HttpMetrics`](super::HttpMetrics).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
        started: Instant,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, in_flight: InFlight, started: Instant) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
            started,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<axum::http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(in_flight) = this.in_flight.take() {
            // An error from the inner service never reaches a client as such: the stack turns it
            // into a 500 first, so count it as one.
            let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(500);
            in_flight.finish(status, this.started.elapsed());
        }
        Poll::Ready(result)
    }
}
