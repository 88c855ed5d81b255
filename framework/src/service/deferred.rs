//! Serving before the routes exist.
//!
//! The listener is bound and the health endpoints answer from the first moment, so that the
//! startup probe can report 503 during migrations instead of a refused connection. Until the
//! service's routes are built, the startup router answers every other path with 503
//! problem+json; then the full router takes over.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use tower::Service;

use crate::server::Problem;

/// A service that answers with the startup router until the full router is set.
#[derive(Clone)]
pub(crate) struct Deferred {
    startup: Router,
    ready: Arc<OnceLock<Router>>,
}

impl Deferred {
    pub(crate) fn new(startup: Router) -> Self {
        Self {
            startup,
            ready: Arc::default(),
        }
    }

    /// Installs the full router; later calls are ignored.
    pub(crate) fn set(&self, ready: Router) {
        let _ = self.ready.set(ready);
    }
}

/// The fallback of the startup router.
pub(crate) async fn starting() -> Response {
    Problem::unavailable("The service is starting; retry shortly.")
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response()
}

impl Service<Request<Body>> for Deferred {
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // A Router is always ready, so calling a clone without poll_ready is fine.
        match self.ready.get() {
            Some(ready) => ready.clone().call(req),
            None => self.startup.clone().call(req),
        }
    }
}
