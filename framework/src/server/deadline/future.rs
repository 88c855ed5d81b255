//! The response future of [`RequestDeadline`](super::RequestDeadline): an answer given without
//! running the handler, or the handler's future raced against the request's budget
//! ([`Race`]). The standard stack's guard runs its requests in one too.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::Response;
use bytes::Bytes;
use pin_project_lite::pin_project;

use super::race::Race;
use crate::BoxError;
use crate::server::scope::Scoped;

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
        Running { #[pin] race: Race<Scoped<F>> },
    }
}

impl<F> DeadlineFuture<F> {
    pub(crate) fn answered(response: Response<Body>) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    pub(crate) fn running(race: Race<Scoped<F>>) -> Self {
        Self {
            kind: Kind::Running { race },
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
        match self.project().kind.project() {
            KindProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            KindProj::Running { race } => race.poll(cx),
        }
    }
}
