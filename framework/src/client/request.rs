//! Building and sending one call.

use std::time::{Duration, Instant};
use tracing::Instrument;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, header};
use serde::Serialize;
use tower::ServiceExt;

use super::retry::IDEMPOTENCY_KEY;
use super::{ClientError, ClientResponse, ServiceClient, instrument};
use crate::BoxError;
use crate::server::{Deadline, Inbound};

/// A call being prepared; finish with [`RequestBuilder::send`].
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct RequestBuilder {
    client: ServiceClient,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    inbound: Option<Inbound>,
    deadline: Option<Deadline>,
    error: Option<BoxError>,
}

impl RequestBuilder {
    pub(crate) fn new(client: ServiceClient, method: Method, path: String) -> Self {
        Self {
            client,
            method,
            path,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            inbound: None,
            deadline: None,
            error: None,
        }
    }

    /// Adds a header.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: Into<BoxError>,
        V: TryInto<HeaderValue>,
        V::Error: Into<BoxError>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(mut value)) => {
                if name == header::AUTHORIZATION || name == header::PROXY_AUTHORIZATION {
                    value.set_sensitive(true);
                }
                self.headers.append(name, value);
            }
            (Err(e), _) => self.error = Some(e.into()),
            (_, Err(e)) => self.error = Some(e.into()),
        }
        self
    }

    /// Sets an `Idempotency-Key`, which makes a `POST` (or `PATCH`) retryable: the downstream
    /// promises to apply a repeated key once.
    pub fn idempotency_key(self, key: impl AsRef<str>) -> Self {
        self.header(IDEMPOTENCY_KEY, key.as_ref())
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = Bytes::from(body);
                self.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(e) => self.error = Some(e.into()),
        }
        self
    }

    /// Sends `body` as it is.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Carries over the context of the request being handled: its request id, its deadline
    /// (which then bounds this call) and, if `forward_authorization` is on, its
    /// `Authorization`.
    ///
    /// Only needed outside the request's task (e.g. in a spawned task): inside it, a call
    /// without `inbound` uses [`Inbound::current`].
    pub fn inbound(mut self, inbound: &Inbound) -> Self {
        if let Some(deadline) = inbound.deadline() {
            self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        }
        self.inbound = Some(inbound.clone());
        self
    }

    /// Bounds this call by `budget` (on top of the configured `deadline`).
    pub fn timeout(mut self, budget: Duration) -> Self {
        let deadline = Deadline::after(budget);
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        self
    }

    /// Sends the call through the client's stack and reads the whole answer.
    ///
    /// Any status is an `Ok` answer; use [`ClientResponse::error_for_status`] to turn 4xx and
    /// 5xx into errors.
    pub async fn send(mut self) -> Result<ClientResponse, ClientError> {
        if self.inbound.is_none()
            && let Some(current) = Inbound::current()
        {
            self = self.inbound(&current);
        }
        let started = Instant::now();
        let client = self.client.clone();
        let method = self.method.clone();
        let span = instrument::span(client.name(), &method, &self.path);
        let result = self.send_inner().instrument(span.clone()).await;
        let outcome = result.as_ref().map(ClientResponse::status);
        instrument::finish(&span, client.name(), &method, started, outcome);
        result
    }

    async fn send_inner(self) -> Result<ClientResponse, ClientError> {
        let name = self.client.name();
        let invalid = |source: BoxError| ClientError::InvalidRequest {
            client: name.to_string(),
            source,
        };
        if let Some(e) = self.error {
            return Err(invalid(e));
        }
        if !self.path.starts_with('/') {
            return Err(invalid(
                format!("the path must start with `/`: {:?}", self.path).into(),
            ));
        }
        let uri: Uri = self.path.parse().map_err(|e| invalid(Box::new(e)))?;
        let mut headers = self.headers;
        self.client
            .outgoing_headers(&mut headers, self.inbound.as_ref())
            .await?;
        let mut req = Request::new(self.body);
        *req.method_mut() = self.method;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        if let Some(deadline) = self.deadline {
            req.extensions_mut().insert(deadline);
        }
        let res = self
            .client
            .stack()
            .oneshot(req)
            .await
            .map_err(|e| ClientError::from_stack(name, e))?;
        Ok(ClientResponse::new(name, res))
    }
}
