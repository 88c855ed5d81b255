use std::task::{Context, Poll};

use axum::http::Request;
use tokio::task::futures::TaskLocalFuture;
use tower::Service;

use super::{CURRENT, Inbound};

/// Service that runs each request with its [`Inbound`] context in a task-local; see
/// [`SetInboundLayer`](super::SetInboundLayer).
#[derive(Debug, Clone)]
pub struct SetInbound<S> {
    inner: S,
    /// Inside the deadline layer, which has taken the caller's deadline header off the request
    /// (see `SetInboundLayer::behind_deadline`).
    behind_deadline: bool,
}

impl<S> SetInbound<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self::placed(inner, false)
    }

    pub(super) fn placed(inner: S, behind_deadline: bool) -> Self {
        Self {
            inner,
            behind_deadline,
        }
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
    type Future = TaskLocalFuture<Inbound, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inbound = Inbound::from_request(req.headers(), req.extensions(), self.behind_deadline);
        CURRENT.scope(inbound, self.inner.call(req))
    }
}
