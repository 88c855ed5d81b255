//! A request body that remembers whether the server is waiting for the client's bytes, so a
//! timeout can tell a slow client (408) from a slow server (503).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};

/// Set while the last read of the body found no bytes from the client yet. A request without a
/// body (most GETs) has nothing to track and allocates nothing (`None`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Waiting(Option<Arc<AtomicBool>>);

impl Waiting {
    /// Whether the handler is blocked on the client's body right now.
    pub(crate) fn get(&self) -> bool {
        self.0.as_ref().is_some_and(|w| w.load(Ordering::Relaxed))
    }

    /// Wraps `body` in what records whether it is waiting for the client; a body already at its
    /// end is left as it is, with a `Waiting` that stays false.
    pub(crate) fn track(body: &mut Body) -> Self {
        if body.is_end_stream() {
            return Self(None);
        }
        let waiting = Arc::new(AtomicBool::new(false));
        *body = Body::new(Tracked {
            inner: std::mem::take(body),
            waiting: waiting.clone(),
        });
        Self(Some(waiting))
    }
}

struct Tracked {
    inner: Body,
    waiting: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.waiting.store(polled.is_pending(), Ordering::Relaxed);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_at_its_end_is_not_tracked() {
        let mut body = Body::empty();
        let waiting = Waiting::track(&mut body);
        assert!(body.is_end_stream());
        assert!(waiting.0.is_none());
        assert!(!waiting.get());
    }

    #[tokio::test]
    async fn a_streamed_body_records_whether_the_client_is_late() {
        use http_body_util::BodyExt;

        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut body = Body::from_stream(stream);
        let waiting = Waiting::track(&mut body);
        assert!(!waiting.get());
        let polled = futures_util::poll!(std::pin::pin!(body.frame()));
        assert!(polled.is_pending());
        assert!(waiting.get(), "no bytes from the client yet");
        tx.send(Ok(Bytes::from_static(b"x"))).await.unwrap();
        assert!(body.frame().await.is_some());
        assert!(!waiting.get());
    }
}
