use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use tower::{Service, ServiceExt};

use super::{ReplayBody, RetryPolicy};
use crate::BoxError;
use crate::client::discovery::Tried;
use crate::client::metrics;
use crate::server::Deadline;

/// Service that retries failed attempts; see [`RetryLayer`](super::RetryLayer).
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Retry<S> {
    /// Retries calls to `inner` by `policy`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self { inner, policy }
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

impl<S, ReqB, B> Service<Request<ReqB>> for Retry<S>
where
    S: Service<Request<ReqB>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    ReqB: ReplayBody + Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each attempt drives its own clone of the inner service ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let inner = self.inner.clone();
        let policy = self.policy.clone();
        Box::pin(async move {
            policy.deposit();
            if policy.max_attempts() == 1
                || !RetryPolicy::is_repeatable(&req)
                || req.body().replay().is_none()
            {
                return inner.oneshot(req).await.map_err(Into::into);
            }
            // Shared by the attempts' copies: the transport sends retries to other instances.
            req.extensions_mut().insert(Tried::default());
            let deadline = req.extensions().get::<Deadline>().copied();
            let mut attempt = 1;
            loop {
                let Some(copy) = replay_request(&req) else {
                    // Checked above; a body that stopped replaying is sent as the last attempt.
                    return inner.oneshot(req).await.map_err(Into::into);
                };
                let result = inner.clone().oneshot(copy).await.map_err(Into::into);
                if attempt >= policy.max_attempts() {
                    return result;
                }
                let Some(reason) = RetryPolicy::reason(&result) else {
                    return result;
                };
                let Some(wait) = policy.wait(&result, attempt, deadline.is_some()) else {
                    return result;
                };
                if deadline.is_some_and(|d| wait >= d.remaining()) {
                    tracing::debug!(client = policy.name(), ?wait, "no time left to retry");
                    return result;
                }
                if !policy.withdraw() {
                    tracing::debug!(client = policy.name(), "retry budget spent");
                    metrics::budget_exhausted(policy.name());
                    return result;
                }
                metrics::retry(policy.name(), reason.label());
                tracing::debug!(
                    client = policy.name(),
                    attempt,
                    reason = reason.label(),
                    ?wait,
                    "retrying"
                );
                drop(result);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

/// A copy of `req` for one attempt (a buffered body is reference-counted, so this is cheap),
/// or `None` when its body cannot be sent again.
fn replay_request<B: ReplayBody>(req: &Request<B>) -> Option<Request<B>> {
    let mut copy = Request::new(req.body().replay()?);
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    *copy.extensions_mut() = req.extensions().clone();
    Some(copy)
}
