use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tower::Service;

use super::future::TelemetryFuture;
use crate::BoxError;
use crate::server::http_metrics::{InFlight, RouteTable, method_index};
use crate::server::{request_id, request_span, sensitive_headers};

/// Service of [`RequestTelemetryLayer`](super::RequestTelemetryLayer).
#[derive(Debug, Clone)]
pub(crate) struct RequestTelemetry<S> {
    pub(super) inner: S,
    /// The RED metrics' handles per route, as [`HttpMetrics`](crate::server::HttpMetrics) keeps them.
    pub(super) routes: Arc<RouteTable>,
}

impl<S, ResB> Service<Request<Body>> for RequestTelemetry<S>
where
    S: Service<Request<Body>, Response = Response<ResB>>,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = TelemetryFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let started = Instant::now();
        sensitive_headers::mark(req.headers_mut());
        let request_id = request_id::take_or_make(&mut req);
        let template = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let span = request_span::make(&req, &request_id, template);
        let route = self.routes.get(template);
        let in_flight = InFlight::start(route, method_index(req.method()));
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        TelemetryFuture::new(inner, span, request_id, in_flight, started)
    }
}
