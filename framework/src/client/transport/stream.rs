//! The streaming attempt, for [`ServiceClient::forward`](crate::client::ServiceClient::forward):
//! the request body is sent as it arrives and the answer is handed back as soon as its
//! headers are in, its body streaming behind it.
//!
//! The same [`Transport`] serves both kinds of call; the request's body type chooses: a
//! buffered `Request<Bytes>` gets a buffered `Response<Bytes>` (read whole within the attempt),
//! a streamed `Request<Body>` a streamed `Response<Body>`. Instance choice, the deadline header
//! and outlier ejection are the same code ([`Transport::prepare`]).
//!
//! `max_response_bytes` still applies: an answer whose `Content-Length` is over it fails before
//! its body is read (a [`ClientError::ResponseTooLarge`](crate::client::ClientError), 502), one
//! without a length is cut at the limit, which ends the stream with an error.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use http_body_util::Limited;
use hyper::body::{Frame, SizeHint};
use tower::Service;

use super::TransportError;
use super::service::{BodyLimit, Transport};
use crate::BoxError;

impl Service<Request<Body>> for Transport {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let transport = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (endpoint, mut request) = transport.prepare(parts).await?;
            if !body.is_end_stream() {
                *request.body_mut() = Some(reqwest::Body::wrap(SyncBody::new(body)));
            }
            let in_flight = endpoint.start(transport.instances().ejection().clone());
            let http = endpoint.http().unwrap_or(transport.shared_http());
            let result = send(http, request, transport.limit()).await;
            let failed = result
                .as_ref()
                .map_or(true, |res| res.status().is_server_error());
            in_flight.finish(failed);
            result.map_err(Into::into)
        })
    }
}

/// Sends the request and returns once the answer's headers are in.
async fn send(
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: BodyLimit<'_>,
) -> Result<Response<Body>, TransportError> {
    let res = http.execute(request).await.map_err(TransportError::send)?;
    if res.content_length().is_some_and(|len| len > limit.max) {
        return Err(TransportError::too_large(limit.client, limit.max));
    }
    let res: Response<reqwest::Body> = res.into();
    let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
    Ok(res.map(|body| Body::new(Limited::new(body, max))))
}

/// A request body that reqwest can send: reqwest wants a `Sync` body, axum's is `Send` only.
///
/// The mutex is never contended: polling takes `&mut self`, which reaches the body through
/// [`Mutex::get_mut`] without locking; only `size_hint` and `is_end_stream` (given `&self`)
/// lock it.
struct SyncBody {
    inner: Mutex<Body>,
}

impl SyncBody {
    fn new(body: Body) -> Self {
        Self {
            inner: Mutex::new(body),
        }
    }
}

impl HttpBody for SyncBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let body = self
            .get_mut()
            .inner
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        Pin::new(body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .size_hint()
    }
}
