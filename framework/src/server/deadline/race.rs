//! A handler's future raced against its request's budget, without a box: the running state of
//! [`DeadlineFuture`](super::DeadlineFuture), shared with the standard stack's guard.
//!
//! The timer is created only when the handler does not answer on its first poll, so a request
//! answered at once (most reads) never registers one with the runtime's timer wheel; it is
//! boxed then, which keeps the future (moved into the route's box on every request) smaller by
//! the size of a `Sleep`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::http::Response;
use axum::response::IntoResponse;
use bytes::Bytes;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use super::body::Waiting;
use super::budget::Budget;
use super::service::expired;
use crate::BoxError;
use crate::server::problem::Problem;

pin_project! {
    /// `inner` (already run in the request's task-local scope) within `budget`.
    pub(crate) struct Race<F> {
        #[pin]
        inner: F,
        // The budget's deadline (or, once `committing`, the extra wait for a commit);
        // created when the handler first returns `Pending`.
        timer: Option<Pin<Box<Sleep>>>,
        budget: Budget,
        waiting: Waiting,
        timeout: Duration,
        // The time ran out while a commit was under way: the handler's answer is awaited
        // for at most one more `timeout`.
        committing: bool,
    }
}

impl<F> Race<F> {
    /// Races `inner` against `budget`; `waiting` tells a slow client from a slow server and
    /// `timeout` is the server's own limit (for the answer's text and the commit's grace).
    pub(crate) fn new(inner: F, budget: Budget, waiting: Waiting, timeout: Duration) -> Self {
        Self {
            inner,
            timer: None,
            budget,
            waiting,
            timeout,
            committing: false,
        }
    }
}

impl<F, B, E> Future for Race<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (budget, timeout, timer) = (this.budget, *this.timeout, this.timer);
        // The handler first (as a biased `select!` would): an answer that is ready wins.
        if let Poll::Ready(result) = this.inner.poll(cx) {
            let response = result?;
            if !*this.committing && budget.is_expired() {
                // A refused commit or auth found the deadline passed: the handler's answer
                // describes a failure the client should see as the deadline.
                return Poll::Ready(Ok(expired(budget.effective().1, false, Some(timeout))));
            }
            return Poll::Ready(Ok(response.map(Body::new)));
        }
        if *this.committing {
            ready!(
                timer
                    .as_mut()
                    .expect("armed when committing")
                    .as_mut()
                    .poll(cx)
            );
            return Poll::Ready(Ok(commit_timed_out()));
        }
        // Registered before the deadline is read, so that a deadline moved by auth after the
        // read wakes this future to look again.
        budget.listen(cx.waker());
        let (at, cause) = budget.effective();
        let at = Instant::from_std(at);
        let sleep = timer.get_or_insert_with(|| Box::pin(sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        ready!(sleep.as_mut().poll(cx));
        if budget.try_expire() {
            return Poll::Ready(Ok(expired(cause, this.waiting.get(), Some(timeout))));
        }
        tracing::warn!("request's time ran out while it commits; waiting for the outcome");
        *this.committing = true;
        sleep.as_mut().reset(Instant::now() + timeout);
        // Registers the new deadline with the timer (the handler was polled just above).
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Ok(commit_timed_out()))
    }
}

/// The answer when a commit under way at the deadline did not finish within one more timeout.
fn commit_timed_out() -> Response<Body> {
    tracing::error!("a commit did not finish in time; its outcome is unknown");
    Problem::unavailable(
        "The request did not complete in time; some of its changes may have been saved.",
    )
    .into_response()
}
