use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

use super::BulkheadFull;
use crate::BoxError;

/// Service that limits attempts in flight; see [`BulkheadLayer`](super::BulkheadLayer).
#[derive(Debug, Clone)]
pub struct Bulkhead<S> {
    inner: S,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    max_wait: Duration,
    name: Arc<str>,
}

impl<S> Bulkhead<S> {
    pub(crate) fn new(
        inner: S,
        slots: Arc<Semaphore>,
        max_concurrent: usize,
        max_wait: Duration,
        name: Arc<str>,
    ) -> Self {
        Self {
            inner,
            slots,
            max_concurrent,
            max_wait,
            name,
        }
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
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

impl<S, Req> Service<Req> for Bulkhead<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per call, where the slot is taken.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        // Our caller polled only us: drive a clone of the inner service ready ourselves, once
        // the slot is ours.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let slots = self.slots.clone();
        let (max, max_wait, name) = (self.max_concurrent, self.max_wait, self.name.clone());
        Box::pin(async move {
            let permit = match slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) if max_wait.is_zero() => return Err(rejected(&name, max)),
                Err(_) => match tokio::time::timeout(max_wait, slots.acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(rejected(&name, max)),
                },
            };
            let result = inner.oneshot(req).await;
            drop(permit);
            result.map_err(Into::into)
        })
    }
}

fn rejected(name: &str, max: usize) -> BoxError {
    crate::client::metrics::bulkhead_rejected(name);
    BulkheadFull::new(max).into()
}
