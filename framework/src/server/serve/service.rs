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
    /// What every request of the connection starts with ([`request_extensions`]).
    pub(super) extensions: Extensions,
}

/// The extensions each request of a connection from `peer` starts with: the peer address, as
/// axum's `into_make_service_with_connect_info` gives it (the rate limiter's `ip` key and the
/// deadline's trusted networks read it), and `tls` (the TLS peer identity) if any.
///
/// Each request gets a clone, which keeps the map's size: the map is made with room for the
/// entries routing and the stack add (axum's original URI, matched path and path parameters,
/// the request id, ...). Built up from empty per request, the map would grow at its fourth
/// entry (a reallocation and a rehash, about 300 instructions; docs/performance.md).
pub(super) fn request_extensions(peer: SocketAddr, tls: Option<Extensions>) -> Extensions {
    /// A placeholder entry that makes room in the map and is removed again.
    #[derive(Clone)]
    struct Room<const N: usize>;

    let mut extensions = Extensions::new();
    extensions.insert(Room::<0>);
    extensions.insert(Room::<1>);
    extensions.insert(Room::<2>);
    extensions.insert(Room::<3>);
    extensions.remove::<Room<0>>();
    extensions.remove::<Room<1>>();
    extensions.remove::<Room<2>>();
    extensions.remove::<Room<3>>();
    extensions.insert(ConnectInfo(peer));
    if let Some(tls) = tls {
        extensions.extend(tls);
    }
    extensions
}

impl<S: App> hyper::service::Service<Request<Incoming>> for ConnectionService<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.started.set();
        let mut req = req.map(Body::new);
        // What hyper put there (an upgrade's handle) joins the connection's own.
        let from_hyper = std::mem::replace(req.extensions_mut(), self.extensions.clone());
        req.extensions_mut().extend(from_hyper);
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
