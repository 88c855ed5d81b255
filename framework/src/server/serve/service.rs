//! The hyper service of one connection: each request gets the peer address (and the TLS peer
//! identity) in its extensions and goes to the app; under a drain, HTTP/1 responses carry
//! `Connection: close`.
//!
//! Written as a hyper service rather than `TowerToHyperService` around a `service_fn` closure:
//! that adapter clones the closure (and everything it holds: the app, the phase receiver, the
//! TLS extensions) for every request, and the closure cloned the app and the receiver once
//! more. Here a request costs one clone of the app and one of the connection's shared state.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderValue, Request, StatusCode, Version, header};
use axum::response::Response;
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower::util::Oneshot;

use super::{App, Phase, Shared, Started};

/// Serves the requests of one connection with the listener's app.
pub(super) struct ConnectionService<S> {
    pub(super) shared: Arc<Shared<S>>,
    /// Set at the connection's first request head.
    pub(super) started: Arc<Started>,
    pub(super) peer: SocketAddr,
    /// Added to every request (the TLS peer identity); `None` on plain connections.
    pub(super) extensions: Option<Extensions>,
}

impl<S: App> hyper::service::Service<Request<Incoming>> for ConnectionService<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.started.set();
        let mut req = req.map(Body::new);
        // The peer address, as axum's `into_make_service_with_connect_info` gives it (the
        // rate limiter's `ip` key and the deadline's trusted networks read it).
        req.extensions_mut().insert(ConnectInfo(self.peer));
        if let Some(extensions) = &self.extensions {
            req.extensions_mut().extend(extensions.clone());
        }
        let http1 = req.version() <= Version::HTTP_11;
        ResponseFuture {
            inner: self.shared.app.clone().oneshot(req),
            http1,
            shared: self.shared.clone(),
        }
    }
}

pin_project! {
    /// The app's answer, with `Connection: close` added under a drain.
    pub(super) struct ResponseFuture<S>
    where
        S: App,
    {
        #[pin]
        inner: Oneshot<S, Request<Body>>,
        http1: bool,
        shared: Arc<Shared<S>>,
    }
}

impl<S: App> Future for ResponseFuture<S> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let upgraded = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        if *this.http1 && !upgraded && *this.shared.phase.borrow() != Phase::Serving {
            // Draining: the client should reconnect (elsewhere) for its next request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
    }
}
