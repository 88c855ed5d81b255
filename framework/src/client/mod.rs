//! Resilient calls to other services: [`ServiceClient`], one per downstream.
//!
//! Each call goes through a fixed stack of tower layers, outermost first:
//!
//! | layer | does | fails with |
//! |---|---|---|
//! | [`time_limit`] (call) | the whole call, retries included, ends by `deadline` or the inbound request's deadline, whichever is earlier | [`TimeLimitError::DeadlineExceeded`](time_limit::TimeLimitError::DeadlineExceeded) |
//! | [`retry`] | retries safe requests on transient failures, with backoff, `Retry-After` and a retry budget | the last attempt's outcome |
//! | [`breaker`] | fails fast while the downstream is failing | [`CircuitOpen`](breaker::CircuitOpen) |
//! | [`bulkhead`] | caps attempts in flight | [`BulkheadFull`](bulkhead::BulkheadFull) |
//! | [`time_limit`] (attempt) | caps each attempt | [`TimeLimitError::AttemptTimedOut`](time_limit::TimeLimitError::AttemptTimedOut) |
//! | [`transport`] | picks an instance (discovery, balancing, outlier ejection) and sends with reqwest | [`TransportError`](transport::TransportError) |
//!
//! Why this order: the deadline bounds everything the caller waits for, backoff included. Retry
//! sits outside the breaker so that every attempt is counted by the breaker and an open breaker
//! stops the retries at once. The bulkhead sits inside the breaker so that calls rejected by an
//! open breaker take no slot, and outside the attempt timeout so that a slot is held for at most
//! one attempt. The attempt timeout is innermost so that a slow attempt can be retried, and it
//! covers reading the body.
//!
//! [`ServiceClient::forward`] sends a request through the same stack with both bodies
//! streamed (for proxies): its time limits run until the answer's headers, and a request
//! with a body is not retried, as a stream cannot be replayed.
//!
//! Errors are boxed between layers, as in tower, and classified into [`ClientError`] at the
//! end; returned from a handler it becomes a problem+json answer (`503` with `Retry-After`
//! when the downstream is unavailable).
//!
//! Outgoing calls carry the inbound request's id, its remaining deadline
//! (`x-request-deadline-ms`, honoured by the server's [`RequestDeadlineLayer`]), the W3C
//! `traceparent` of the call's span, and a token from a [`TokenSource`] or, when configured,
//! the caller's own `Authorization`. Inside a request served with the standard stack this
//! needs no code at the call ([`Inbound::current`]); elsewhere pass an [`Inbound`] with
//! [`RequestBuilder::inbound`].
//!
//! Metrics go through the `metrics` facade; see [`metrics`] for the names.
//! [`docs/client.md`](https://github.com/servicekit/servicekit/blob/main/docs/client.md) lists every configuration key with its default and the reason for it.
//!
//! [`RequestDeadlineLayer`]: crate::server::RequestDeadlineLayer

pub mod breaker;
pub mod bulkhead;
mod config;
mod discovery;
mod error;
mod forward;
mod instrument;
pub mod metrics;
mod propagation;
mod request;
mod response;
pub mod retry;
mod service_client;
pub mod time_limit;
mod tls;
pub mod transport;

/// The hook through which outgoing calls get a service token (defined in [`auth`](crate::auth)).
pub use crate::auth::TokenSource;
pub use crate::server::Inbound;
pub use config::{
    Balance, BreakerConfig, BulkheadConfig, ClientConfig, DEFAULT_MAX_RESPONSE_BYTES, Discovery,
    EjectionConfig, RetryConfig,
};
pub use error::ClientError;
pub use request::RequestBuilder;
pub use response::ClientResponse;
pub use service_client::{InvalidClientConfig, ServiceClient};
pub use tls::ClientTlsConfig;

pub(crate) use config::validate;
