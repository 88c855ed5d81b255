use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll};

use axum::response::Response;
use tower::Service;

use super::future::ResponseFuture;

/// Service of [`CatchPanicLayer`](super::CatchPanicLayer).
#[derive(Debug, Clone)]
pub(crate) struct CatchPanic<S> {
    pub(super) inner: S,
}

impl<S, R> Service<R> for CatchPanic<S>
where
    S: Service<R, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(future) => ResponseFuture::running(future),
            Err(payload) => ResponseFuture::panicked(super::panic_response(payload)),
        }
    }
}
