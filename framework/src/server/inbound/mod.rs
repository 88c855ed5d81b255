//! The context of the request being handled, for outgoing calls to carry on.
//!
//! [`SetInboundLayer`] (part of the standard stack, inside the deadline layer) reads the
//! request's id, `Authorization` and [`Deadline`](super::Deadline) into an [`Inbound`] and runs
//! the rest of the request in the request's task-local [scope](super::scope) holding it. A
//! [`ServiceClient`](crate::client::ServiceClient) call made while handling the request reads
//! it from there ([`Inbound::current`]), so handlers need no per-call code to propagate the
//! request id and the remaining deadline (the W3C `traceparent` comes from the current span).
//!
//! A task-local does not follow `tokio::spawn`: for calls made from a spawned task, take the
//! [`Inbound`] extractor in the handler and pass it with
//! [`RequestBuilder::inbound`](crate::client::RequestBuilder::inbound).

mod context;
mod layer;
mod service;

pub use context::Inbound;
pub use layer::SetInboundLayer;
pub use service::SetInbound;
