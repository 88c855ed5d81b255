//! [`ServiceClient::forward`]: a streamed call, for proxies.

use std::time::Instant;

use axum::body::Body;
use http::{Request, Response, Uri, header};
use tower::ServiceExt;
use tracing::Instrument;

use super::{ClientError, ServiceClient, instrument};
use crate::server::{Deadline, Inbound};

impl ServiceClient {
    /// Sends `req` to the downstream with its body streamed, and returns the answer as soon as
    /// its headers are in, its body streaming behind it: neither body is held whole in memory.
    /// This is what a proxy or gateway calls; [`ServiceClient::request`] is for calls whose
    /// answer is read whole.
    ///
    /// The call goes through the same stack as any other, sharing its state: an instance is
    /// chosen by discovery and balancing, the circuit breaker and the bulkhead admit it, the
    /// `deadline` and `attempt_timeout` run until the answer's **headers** (the body then
    /// streams without a time limit of the client's; for an upstream that reads the whole
    /// upload before answering, that includes the upload), and it is counted in the client's
    /// metrics and traced in a client span. The breaker and outlier ejection judge the answer
    /// by its status; a bulkhead slot is held until the headers.
    ///
    /// Retries happen only when repeating the request is safe and possible: an idempotent
    /// method (`GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`, or an `Idempotency-Key` header) **and**
    /// no request body. A streamed body is consumed as it is sent and cannot be replayed, so a
    /// request with one is sent exactly once.
    ///
    /// Only the path and query of `req`'s URI are used: the downstream's address comes from
    /// `[clients.<name>]`. Its headers are sent as they are, except `Host` (that of the
    /// instance), and with what every call carries: the inbound request's id
    /// ([`Inbound::current`], or an [`Inbound`] extension on `req`), its remaining deadline,
    /// the W3C `traceparent` of this call's span and, when configured, a service token. A
    /// [`Deadline`] extension on `req` bounds the call further. A proxy removes the hop-by-hop
    /// headers (`Connection`, `Transfer-Encoding`, ...) before forwarding, and from the answer.
    ///
    /// The answer's body counts against `max_response_bytes`: with a larger `Content-Length`
    /// the call fails ([`ClientError::ResponseTooLarge`]); without one the stream is cut at
    /// the limit.
    ///
    /// Any status is an `Ok` answer. Errors are the usual [`ClientError`]s, which a handler
    /// returns as problem+json (`503` for an open breaker or an unreachable downstream).
    ///
    /// ```no_run
    /// use axum::{Router, body::Body, extract::State, http::Request, response::IntoResponse};
    /// use servicekit::client::ServiceClient;
    /// use servicekit::server::Problem;
    ///
    /// async fn proxy(State(students): State<ServiceClient>, req: Request<Body>) -> impl IntoResponse {
    ///     students.forward(req).await.map_err(Problem::from)
    /// }
    ///
    /// fn routes(students: ServiceClient) -> Router {
    ///     Router::new().fallback(proxy).with_state(students)
    /// }
    /// ```
    pub async fn forward(&self, req: Request<Body>) -> Result<Response<Body>, ClientError> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let span = instrument::span(self.name(), &method, &path);
        let result = self.forward_inner(req).instrument(span.clone()).await;
        let outcome = result.as_ref().map(Response::status);
        instrument::finish(&span, self.name(), &method, started, outcome);
        result
    }

    async fn forward_inner(&self, req: Request<Body>) -> Result<Response<Body>, ClientError> {
        let (mut parts, body) = req.into_parts();
        let inbound = parts
            .extensions
            .remove::<Inbound>()
            .or_else(Inbound::current);
        let deadline = [
            parts.extensions.get::<Deadline>().copied(),
            inbound.as_ref().and_then(Inbound::deadline),
        ]
        .into_iter()
        .flatten()
        .min();
        let uri = match parts.uri.path_and_query() {
            Some(path) if path.as_str().starts_with('/') => Uri::from(path.clone()),
            Some(path) => {
                return Err(ClientError::InvalidRequest {
                    client: self.name().to_string(),
                    source: format!("the path must start with `/`: {:?}", path.as_str()).into(),
                });
            }
            None => Uri::from_static("/"),
        };
        let mut headers = std::mem::take(&mut parts.headers);
        headers.remove(header::HOST);
        self.outgoing_headers(&mut headers, inbound.as_ref())
            .await?;
        let mut req = Request::new(body);
        *req.method_mut() = parts.method;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        if let Some(deadline) = deadline {
            req.extensions_mut().insert(deadline);
        }
        self.streaming_stack()
            .oneshot(req)
            .await
            .map_err(|e| ClientError::from_stack(self.name(), e))
    }
}
