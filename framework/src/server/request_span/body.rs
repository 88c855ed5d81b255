//! The response body of a request whose span is enabled: it keeps the span open until the body
//! has been sent and enters it while the body is polled, as tower-http's trace layer did.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};
use tracing::Span;

/// `body`, holding `span` (see the module docs).
pub(crate) fn with_span(body: Body, span: Span) -> Body {
    Body::new(SpanBody {
        inner: body,
        span,
        started: Some(Instant::now()),
    })
}

struct SpanBody {
    inner: Body,
    span: Span,
    /// When the body started; taken when its end is logged.
    started: Option<Instant>,
}

impl SpanBody {
    /// tower-http's `DefaultOnEos`: a DEBUG line under its target when the body ends.
    fn ended(&mut self) {
        if let Some(started) = self.started.take() {
            let stream_duration = format_args!("{} ms", started.elapsed().as_millis());
            tracing::debug!(target: "tower_http::trace::on_eos", parent: &self.span,
                %stream_duration, status = tracing::field::Empty, "end of stream");
        }
    }
}

impl HttpBody for SpanBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        let end = match &frame {
            Some(Ok(frame)) => frame.is_trailers() || this.inner.is_end_stream(),
            Some(Err(_)) => false,
            None => true,
        };
        drop(_entered);
        if end {
            this.ended();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
