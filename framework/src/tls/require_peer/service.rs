use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use tower::Service;

use crate::tls::PeerIdentity;
use crate::tls::peer::no_peer;

/// Service letting only allowed peers through; see [`RequirePeerLayer`](super::RequirePeerLayer).
#[derive(Debug, Clone)]
pub struct RequirePeer<S> {
    inner: S,
    allowed: Arc<[String]>,
}

impl<S> RequirePeer<S> {
    /// Wraps `inner`, allowing the peers named in `allowed`.
    pub fn new(inner: S, allowed: Arc<[String]>) -> Self {
        Self { inner, allowed }
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

impl<S, B> Service<Request<B>> for RequirePeer<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let problem = match req.extensions().get::<PeerIdentity>() {
            Some(peer) if self.allowed.iter().any(|name| peer.has(name)) => {
                return Either::Right(self.inner.call(req));
            }
            Some(peer) => no_peer().with_detail(format!(
                "the client certificate ({}) is not allowed here",
                peer.name().unwrap_or("no URI or DNS name")
            )),
            None => no_peer(),
        };
        Either::Left(ready(Ok(problem.into_response())))
    }
}
