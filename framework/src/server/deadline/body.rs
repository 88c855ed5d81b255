//! A request body that remembers whether the server is waiting for the client's bytes, so a
//! timeout can tell a slow client (408) from a slow server (503).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};

/// Set while the last read of the body found no bytes from the client yet.
#[derive(Debug, Clone, Default)]
pub(crate) struct Waiting(Arc<AtomicBool>);

impl Waiting {
    /// Whether the handler is blocked on the client's body right now.
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `body`, recording in `self` whether it is waiting for the client.
    pub(crate) fn track(&self, body: Body) -> Body {
        Body::new(Tracked {
            inner: body,
            waiting: self.clone(),
        })
    }
}

struct Tracked {
    inner: Body,
    waiting: Waiting,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.waiting.0.store(polled.is_pending(), Ordering::Relaxed);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
