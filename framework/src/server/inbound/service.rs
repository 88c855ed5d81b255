use std::task::{Context, Poll};

use axum::http::Request;
use tokio::task::futures::TaskLocalFuture;
use tower::Service;

use super::Inbound;
use crate::server::scope::Scope;

/// Service that runs each request with its [`Inbound`] context in a task-local; see
/// [`SetInboundLayer`](super::SetInboundLayer).
#[derive(Debug, Clone)]
pub struct SetInbound<S> {
    inner: S,
}

impl<S> SetInbound<S> {
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

impl<S, B> Service<Request<B>> for SetInbound<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Scope, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inbound = Inbound::from_request(req.headers(), req.extensions());
        // Keeps the budget of a deadline layer outside.
        let mut scope = Scope::inherited();
        scope.inbound = Some(inbound);
        scope.run(self.inner.call(req))
    }
}
