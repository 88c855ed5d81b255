use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::Request;
use tower::Service;

use super::AttemptTimedOut;
use crate::BoxError;

/// Service that bounds each attempt; see [`AttemptTimeoutLayer`](super::AttemptTimeoutLayer).
#[derive(Debug, Clone)]
pub struct AttemptTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> AttemptTimeout<S> {
    /// Wraps `inner`, giving each attempt at most `timeout`.
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self { inner, timeout }
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

impl<S, B> Service<Request<B>> for AttemptTimeout<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let attempt = crate::client::deadline::narrow(&mut req, self.timeout);
        let budget = attempt.remaining();
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout_at(attempt.instant().into(), fut).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(AttemptTimedOut::new(budget).into()),
            }
        })
    }
}
