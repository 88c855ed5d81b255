use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, Response};
use pin_project_lite::pin_project;
use tracing::Span;

use crate::BoxError;
use crate::server::http_metrics::InFlight;
use crate::server::{request_id, request_span};

pin_project! {
    /// Response future of [`RequestTelemetry`](super::service::RequestTelemetry).
    pub(crate) struct TelemetryFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        request_id: Option<HeaderValue>,
        // Counted out when dropped, so a cancelled request leaves the active gauge too.
        in_flight: Option<InFlight>,
        started: Instant,
    }
}

impl<F> TelemetryFuture<F> {
    pub(super) fn new(
        inner: F,
        span: Span,
        request_id: HeaderValue,
        in_flight: InFlight,
        started: Instant,
    ) -> Self {
        Self {
            inner,
            span,
            request_id: Some(request_id),
            in_flight: Some(in_flight),
            started,
        }
    }
}

impl<F, B, E> Future for TelemetryFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let latency = this.started.elapsed();
        let in_flight = this.in_flight.take().expect("polled after completion");
        let mut response = match result {
            Ok(response) => response.map(Body::new),
            Err(e) => {
                // An error never reaches a client as such: the server answers 500.
                in_flight.finish(500, latency);
                return Poll::Ready(Err(e));
            }
        };
        in_flight.finish(response.status().as_u16(), latency);
        drop(in_flight);
        request_span::finish(&response, latency, this.span);
        drop(entered);
        if let Some(id) = this.request_id.take() {
            request_id::echo(&mut response, id);
        }
        Poll::Ready(Ok(request_span::attach(
            response,
            std::mem::replace(this.span, Span::none()),
        )))
    }
}
