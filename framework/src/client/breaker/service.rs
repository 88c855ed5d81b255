use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tower::{Service, ServiceExt};

use super::CircuitBreaker;
use super::state::Permit;
use crate::BoxError;
use crate::client::bulkhead::BulkheadFull;

/// Service guarded by a circuit breaker; see [`BreakerLayer`](super::BreakerLayer).
#[derive(Debug, Clone)]
pub struct Breaker<S> {
    inner: S,
    breaker: CircuitBreaker,
}

impl<S> Breaker<S> {
    /// Guards `inner` with `breaker`.
    pub fn new(inner: S, breaker: CircuitBreaker) -> Self {
        Self { inner, breaker }
    }

    /// The breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
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

impl<S, Req, B> Service<Req> for Breaker<S>
where
    S: Service<Req, Response = http::Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    Req: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<B>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Admission is decided per call: an open breaker fails the call, not readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let permit = match self.breaker.try_acquire() {
            Ok(permit) => permit,
            Err(open) => return Box::pin(std::future::ready(Err(open.into()))),
        };
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let guard = Guard {
            breaker: self.breaker.clone(),
            permit: Some(permit),
        };
        Box::pin(async move {
            let result = inner.oneshot(req).await.map_err(Into::into);
            let failed = match &result {
                Ok(res) => Some(res.status().is_server_error()),
                Err(e) if e.is::<BulkheadFull>() => None,
                Err(_) => Some(true),
            };
            guard.finish(failed);
            result
        })
    }
}

/// Reports the outcome, or the cancellation, of an admitted call.
struct Guard {
    breaker: CircuitBreaker,
    permit: Option<Permit>,
}

impl Guard {
    fn finish(mut self, failed: Option<bool>) {
        if let Some(permit) = self.permit.take() {
            match failed {
                Some(failed) => self.breaker.record(permit, failed),
                None => self.breaker.release(permit),
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.cancel(permit);
        }
    }
}
