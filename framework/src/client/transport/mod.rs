//! The bottom of the stack: choose an instance, send one attempt with reqwest, read the body.
//!
//! For a buffered call ([`RequestBuilder::send`](crate::client::RequestBuilder::send)) the
//! whole body is read here, inside the attempt timeout, so a downstream that sends headers and
//! then stalls is a timeout like any other, and a retry never races a half-read body. A
//! streamed call ([`ServiceClient::forward`](crate::client::ServiceClient::forward)) returns
//! at the answer's headers and its body streams to the caller (`stream.rs`).

mod error;
mod http;
mod service;
mod stream;

pub use error::TransportError;
pub(crate) use http::HttpSettings;
pub use service::Transport;
