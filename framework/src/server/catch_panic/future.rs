use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`CatchPanic`](super::service::CatchPanic).
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: F },
        Panicked { response: Option<Response> },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn running(future: F) -> Self {
        Self {
            state: State::Running { future },
        }
    }

    pub(super) fn panicked(response: Response) -> Self {
        Self {
            state: State::Panicked {
                response: Some(response),
            },
        }
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Running { future } => {
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(polled) => polled,
                    // Answered: the future that panicked is never polled again.
                    Err(payload) => Poll::Ready(Ok(super::panic_response(payload))),
                }
            }
            StateProj::Panicked { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
