use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::Request;
use tower::Service;

use super::DeadlineExceeded;
use crate::BoxError;

/// Service that bounds each call by a deadline; see [`DeadlineLayer`](super::DeadlineLayer).
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
    budget: Duration,
}

impl<S> DeadlineService<S> {
    /// Wraps `inner`, giving each call at most `budget`.
    pub fn new(inner: S, budget: Duration) -> Self {
        Self { inner, budget }
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

impl<S, B> Service<Request<B>> for DeadlineService<S>
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
        let deadline = super::narrow(&mut req, self.budget);
        if deadline.is_expired() {
            return Box::pin(async { Err(DeadlineExceeded::new().into()) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline.instant().into(), fut).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(DeadlineExceeded::new().into()),
            }
        })
    }
}
