//! Serving before the routes exist.
//!
//! The listener is bound and the health endpoints answer from the first moment, so that the
//! startup probe can report 503 during migrations instead of a refused connection. Until the
//! service's routes are built, every other path answers 503 problem+json.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use futures_util::future::{Either, Ready, ready};
use tower::Service;

use crate::server::Problem;

/// A service that forwards to the routes once they are set.
#[derive(Clone, Default)]
pub(crate) struct Deferred {
    routes: Arc<OnceLock<Router>>,
}

impl Deferred {
    /// Installs the routes; later calls are ignored.
    pub(crate) fn set(&self, routes: Router) {
        let _ = self.routes.set(routes);
    }
}

impl Service<Request<Body>> for Deferred {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, RouteFuture<Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self.routes.get() {
            // A Router is always ready, so calling a clone without poll_ready is fine.
            Some(routes) => Either::Right(routes.clone().call(req)),
            None => Either::Left(ready(Ok(Problem::unavailable(
                "The service is starting; retry shortly.",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            .into_response()))),
        }
    }
}
