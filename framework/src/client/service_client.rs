//! [`ServiceClient`]: one per downstream, the middleware stack built from its configuration.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, header};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use super::breaker::{BreakerLayer, BreakerState, CircuitBreaker};
use super::bulkhead::BulkheadLayer;
use super::config::{ClientConfig, validate};
use super::discovery::Instances;
use super::propagation::propagate;
use super::retry::{RetryLayer, RetryPolicy};
use super::time_limit::TimeLimitLayer;
use super::transport::{HttpSettings, Transport};
use super::{ClientError, Inbound, RequestBuilder, TokenSource};
use crate::BoxError;

/// The middleware stack every buffered call goes through.
pub(crate) type Stack = BoxCloneSyncService<Request<Bytes>, Response<Bytes>, BoxError>;

/// The same stack for streamed calls ([`ServiceClient::forward`]), sharing its breaker,
/// bulkhead slots, retry budget and connection pool.
pub(crate) type StreamingStack = BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;

/// A resilient HTTP client for one downstream service.
///
/// Every call goes through, outermost first: deadline -> retry -> circuit breaker -> bulkhead
/// -> attempt timeout -> transport (instance choice, reqwest). Cloning is cheap and shares
/// everything: the connection pool, the breaker, the budget, the bulkhead.
///
/// Services get theirs with [`Context::client`](crate::Context::client), configured by
/// `[clients.<name>]`; it can also be built directly:
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use servicekit::client::{ClientConfig, ServiceClient};
///
/// let students = ServiceClient::new("student-service", &ClientConfig::new("http://127.0.0.1:8080"))?;
/// let res = students.get("/students/42").send().await?;
/// if res.status() == 404 { /* ... */ }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    stack: Stack,
    streaming: StreamingStack,
    breaker: CircuitBreaker,
    forward_authorization: bool,
    token: Option<Arc<dyn TokenSource>>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("name", &self.inner.name)
            .field("breaker", &self.breaker_state())
            .field("token_source", &self.inner.token.is_some())
            .finish_non_exhaustive()
    }
}

/// A client configuration that cannot be used; the message names the key below
/// `[clients.<name>]`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("clients.{client}.{key}: {message}")]
pub struct InvalidClientConfig {
    /// The downstream.
    pub client: String,
    /// The key below `[clients.<name>]`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to correct it.
    pub fix: String,
}

impl ServiceClient {
    /// Builds the client for the downstream `name` from its configuration.
    ///
    /// With `discovery = "dns"`, call this inside a tokio runtime so that the refresh task can
    /// start.
    pub fn new(name: &str, config: &ClientConfig) -> Result<Self, InvalidClientConfig> {
        let invalid = |key: &str, message: String, fix: &str| InvalidClientConfig {
            client: name.to_string(),
            key: key.to_string(),
            message,
            fix: fix.to_string(),
        };
        validate(config).map_err(|e| invalid(&e.key, e.message, &e.fix))?;
        let name: Arc<str> = Arc::from(name);
        let settings = HttpSettings::from_config(config).map_err(|(key, message)| {
            let fix = if key.ends_with("ca_file") {
                "set it to a readable PEM bundle of the CAs to trust, e.g. \
                 `/etc/ssl/internal-ca.pem`"
            } else {
                "set tls.cert_file and tls.key_file together, to readable PEM files of the \
                 client certificate and its private key, e.g. `/run/tls/client.crt` and \
                 `/run/tls/client.key`"
            };
            invalid(key, message, fix)
        })?;
        let http = settings.client(None).map_err(|message| {
            invalid(
                "connect_timeout",
                message,
                "set connect_timeout to a duration such as `2s`, and ca_file to a PEM bundle",
            )
        })?;
        let instances =
            Instances::from_config(name.clone(), config, &settings).map_err(|message| {
                invalid(
                    "base_url",
                    message,
                    "give an http(s) URL with a host, e.g. `http://student-service:8080`",
                )
            })?;
        let breaker = CircuitBreaker::from_config(name.clone(), config);
        // One set of layers, two stacks: the layers' clones share their state (breaker,
        // bulkhead slots, retry budget, connection pool) between buffered and streamed calls.
        let layers = ServiceBuilder::new()
            .layer(TimeLimitLayer::call(config.deadline))
            .layer(RetryLayer::new(RetryPolicy::new(
                name.clone(),
                &config.retry,
            )))
            .layer(BreakerLayer::new(breaker.clone()))
            .layer(BulkheadLayer::new(
                name.clone(),
                config.bulkhead.max_concurrent as usize,
                config.bulkhead.max_wait,
            ))
            .layer(TimeLimitLayer::attempt(config.attempt_timeout));
        let transport = Transport::new(http, instances, config.max_response_bytes);
        let stack = layers.clone().service(transport.clone());
        let streaming = layers.service(transport);
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                stack: BoxCloneSyncService::new(stack),
                streaming: BoxCloneSyncService::new(streaming),
                breaker,
                forward_authorization: config.forward_authorization,
                token: None,
            }),
        })
    }

    /// This client with `source` supplying the `Authorization` of every call (a service
    /// token). The copy shares the stack, breaker and pool with `self`.
    #[must_use]
    pub fn with_token_source(&self, source: impl TokenSource) -> Self {
        self.with_token_source_arc(Arc::new(source))
    }

    /// [`ServiceClient::with_token_source`] for a source that is already shared.
    #[must_use]
    pub fn with_token_source_arc(&self, source: Arc<dyn TokenSource>) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: self.inner.name.clone(),
                stack: self.inner.stack.clone(),
                streaming: self.inner.streaming.clone(),
                breaker: self.inner.breaker.clone(),
                forward_authorization: self.inner.forward_authorization,
                token: Some(source),
            }),
        }
    }

    /// The downstream's name, as in `[clients.<name>]` and the metrics' `client` label.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The circuit breaker's current state.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// Starts a request with `method` to `path` (absolute, with any query: `/students?limit=5`).
    pub fn request(&self, method: Method, path: impl Into<String>) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, path.into())
    }

    /// Starts a `GET` request.
    pub fn get(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// Starts a `POST` request (not retried unless it carries an idempotency key).
    pub fn post(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// Starts a `PUT` request.
    pub fn put(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// Starts a `DELETE` request.
    pub fn delete(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    pub(crate) fn stack(&self) -> Stack {
        self.inner.stack.clone()
    }

    pub(crate) fn streaming_stack(&self) -> StreamingStack {
        self.inner.streaming.clone()
    }

    /// Adds what every outgoing call carries: the inbound request's id (and `Authorization`
    /// when `forward_authorization` is on), the `traceparent` of the current (client) span,
    /// and the token source's `Authorization`, which wins over any other.
    pub(crate) async fn outgoing_headers(
        &self,
        headers: &mut HeaderMap,
        inbound: Option<&Inbound>,
    ) -> Result<(), ClientError> {
        if let Some(inbound) = inbound {
            propagate(headers, inbound, self.inner.forward_authorization);
        }
        crate::telemetry::inject_trace_context(headers);
        if let Some(source) = &self.inner.token {
            let mut value = source
                .authorization()
                .await
                .map_err(|source| ClientError::Token {
                    client: self.name().to_string(),
                    source,
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        Ok(())
    }
}
