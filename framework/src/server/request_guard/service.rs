use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use tower::Service;

use super::future::GuardFuture;
use crate::BoxError;
use crate::server::deadline::{Policy, Race, Waiting, admit};
use crate::server::expired_before_start;
use crate::server::scope::Scope;
use crate::server::{Inbound, body_limit, catch_panic, request_head};

/// Service of [`RequestGuardLayer`](super::RequestGuardLayer).
#[derive(Debug, Clone)]
pub(crate) struct RequestGuard<S> {
    pub(super) inner: S,
    pub(super) policy: Arc<Policy>,
    pub(super) body_limit: usize,
}

impl<S, B> Service<Request<Body>> for RequestGuard<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if let Some(problem) = request_head::problem(&req) {
            return GuardFuture::answered(problem.into_response());
        }
        let Ok(budget) = admit(&self.policy, &mut req) else {
            return GuardFuture::answered(expired_before_start());
        };
        // A request without a body (most GETs) never waits for the client: nothing to track.
        let waiting = Waiting::track(req.body_mut());
        if let Err(too_large) = body_limit::apply(&mut req, self.body_limit) {
            return GuardFuture::answered(too_large.into_response());
        }
        // `admit` has taken the caller's deadline header off the request.
        let inbound = Inbound::admitted(req.headers(), req.extensions());
        let scope = Scope {
            budget: Some(budget.clone()),
            inbound: Some(inbound),
        };
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => GuardFuture::running(Race::new(
                scope.run(fut),
                budget,
                waiting,
                self.policy.timeout,
            )),
            Err(payload) => GuardFuture::answered(catch_panic::panic_response(payload)),
        }
    }
}
