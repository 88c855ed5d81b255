//! The response future of [`RequestDeadline`](super::RequestDeadline): the handler's future
//! raced against the request's budget, without a box.
//!
//! The timer is created only when the handler does not answer on its first poll, so a request
//! answered at once (most reads) never registers one with the runtime's timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::http::Response;
use axum::response::IntoResponse;
use bytes::Bytes;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tokio::time::{Instant, Sleep, sleep_until};

use super::body::Waiting;
use super::budget::Budget;
use super::service::expired;
use crate::BoxError;
use crate::server::problem::Problem;

pin_project! {
    /// Response future of [`RequestDeadline`](super::RequestDeadline).
    pub struct DeadlineFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        /// Answered without running the handler (the caller's deadline had passed).
        Answered { response: Option<Response<Body>> },
        /// The handler runs within the budget.
        Running {
            #[pin]
            inner: TaskLocalFuture<Budget, F>,
            // The budget's deadline (or, once `committing`, the extra wait for a commit);
            // created when the handler first returns `Pending`.
            #[pin]
            timer: Option<Sleep>,
            budget: Budget,
            waiting: Waiting,
            timeout: Duration,
            // The time ran out while a commit was under way: the handler's answer is awaited
            // for at most one more `timeout`.
            committing: bool,
        },
    }
}

impl<F> DeadlineFuture<F> {
    pub(super) fn answered(response: Response<Body>) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    pub(super) fn running(
        inner: TaskLocalFuture<Budget, F>,
        budget: Budget,
        waiting: Waiting,
        timeout: Duration,
    ) -> Self {
        Self {
            kind: Kind::Running {
                inner,
                timer: None,
                budget,
                waiting,
                timeout,
                committing: false,
            },
        }
    }
}

impl<F, B, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (inner, mut timer, budget, waiting, timeout, committing) =
            match self.project().kind.project() {
                KindProj::Answered { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
                KindProj::Running {
                    inner,
                    timer,
                    budget,
                    waiting,
                    timeout,
                    committing,
                } => (inner, timer, budget, waiting, timeout, committing),
            };
        // The handler first (as a biased `select!` would): an answer that is ready wins.
        if let Poll::Ready(result) = inner.poll(cx) {
            let response = result?;
            if !*committing && budget.is_expired() {
                // A refused commit or auth found the deadline passed: the handler's answer
                // describes a failure the client should see as the deadline.
                return Poll::Ready(Ok(expired(budget.effective().1, false, Some(*timeout))));
            }
            return Poll::Ready(Ok(response.map(Body::new)));
        }
        if *committing {
            ready!(timer.as_pin_mut().expect("armed when committing").poll(cx));
            return Poll::Ready(Ok(commit_timed_out()));
        }
        // Registered before the deadline is read, so that a deadline moved by auth after the
        // read wakes this future to look again.
        budget.listen(cx.waker());
        let (at, cause) = budget.effective();
        let at = Instant::from_std(at);
        match timer.as_mut().as_pin_mut() {
            Some(sleep) if sleep.deadline() == at => {}
            Some(sleep) => sleep.reset(at),
            None => timer.set(Some(sleep_until(at))),
        }
        ready!(timer.as_mut().as_pin_mut().expect("armed above").poll(cx));
        if budget.try_expire() {
            return Poll::Ready(Ok(expired(cause, waiting.get(), Some(*timeout))));
        }
        tracing::warn!("request's time ran out while it commits; waiting for the outcome");
        *committing = true;
        let mut sleep = timer.as_pin_mut().expect("armed above");
        sleep.as_mut().reset(Instant::now() + *timeout);
        // Registers the new deadline with the timer (the handler was polled just above).
        ready!(sleep.poll(cx));
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
