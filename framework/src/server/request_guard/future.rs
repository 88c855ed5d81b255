use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::Response;
use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;

use crate::BoxError;
use crate::server::catch_panic::panic_response;
use crate::server::deadline::{DeadlineFuture, Race};
use crate::server::problem_json::{needs_rewrite, to_problem};
use crate::server::scope::Scoped;

pin_project! {
    /// Response future of [`RequestGuard`](super::service::RequestGuard).
    pub(crate) struct GuardFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// An answer given without running the handler (head limits, an expired caller
        /// deadline, a declared body over the limit, a panic in `call`), or the handler running
        /// in the request's scope within its budget: the deadline layer's own future.
        Handling { #[pin] fut: DeadlineFuture<F> },
        /// An unstructured error answer being rewritten as problem+json (it reads the body).
        Rewriting { rewrite: BoxFuture<'static, Response<Body>> },
    }
}

impl<F> GuardFuture<F> {
    pub(super) fn answered(response: Response<Body>) -> Self {
        Self {
            state: State::Handling {
                fut: DeadlineFuture::answered(response),
            },
        }
    }

    pub(super) fn running(race: Race<Scoped<F>>) -> Self {
        Self {
            state: State::Handling {
                fut: DeadlineFuture::running(race),
            },
        }
    }
}

impl<F, B, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.as_mut().project().state.project() {
            StateProj::Handling { fut } => {
                match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                    Ok(polled) => ready!(polled)?,
                    // Answered: the future that panicked is never polled again.
                    Err(payload) => panic_response(payload),
                }
            }
            StateProj::Rewriting { rewrite } => return rewrite.as_mut().poll(cx).map(Ok),
        };
        if !needs_rewrite(&response) {
            return Poll::Ready(Ok(response));
        }
        let mut rewrite = Box::pin(to_problem(response));
        let polled = rewrite.as_mut().poll(cx);
        if polled.is_pending() {
            self.project().state.set(State::Rewriting { rewrite });
        }
        polled.map(Ok)
    }
}
