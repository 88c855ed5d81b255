use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use metrics::SharedString;
use pin_project_lite::pin_project;

use crate::telemetry::catalog::{
    HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_DURATION_SECONDS, HTTP_SERVER_REQUESTS_TOTAL,
};

/// Counts a request as active from creation until drop, so cancelled requests are counted out.
#[derive(Debug)]
pub(super) struct InFlight {
    method: SharedString,
    route: SharedString,
}

impl InFlight {
    pub(super) fn start(method: SharedString, route: SharedString) -> Self {
        metrics::gauge!(HTTP_SERVER_ACTIVE_REQUESTS, "method" => method.clone(), "route" => route.clone())
            .increment(1.0);
        Self { method, route }
    }

    fn finish(&self, status: u16, started: Instant) {
        let class = status_class(status);
        let labels = [
            ("method", self.method.clone()),
            ("route", self.route.clone()),
            ("status", SharedString::const_str(class)),
        ];
        metrics::counter!(HTTP_SERVER_REQUESTS_TOTAL, &labels).increment(1);
        metrics::histogram!(HTTP_SERVER_REQUEST_DURATION_SECONDS, &labels)
            .record(started.elapsed().as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_SERVER_ACTIVE_REQUESTS, "method" => self.method.clone(), "route" => self.route.clone())
            .decrement(1.0);
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
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
            in_flight.finish(status, *this.started);
        }
        Poll::Ready(result)
    }
}
