use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use tower::Service;

use super::problem;

/// Service of [`CheckHeadLayer`](super::CheckHeadLayer).
#[derive(Debug, Clone)]
pub(crate) struct CheckHead<S> {
    pub(super) inner: S,
}

impl<S> Service<Request> for CheckHead<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match problem(&req) {
            Some(problem) => Either::Left(ready(Ok(problem.into_response()))),
            None => Either::Right(self.inner.call(req)),
        }
    }
}
