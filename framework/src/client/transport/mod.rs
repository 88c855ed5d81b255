//! The bottom of the stack: choose an instance, send one attempt with reqwest, read the body.
//!
//! The whole body is read here, inside the attempt timeout, so a downstream that sends headers
//! and then stalls is a timeout like any other, and a retry never races a half-read body.

mod error;
mod http;
mod service;

pub use error::TransportError;
pub(crate) use http::HttpSettings;
pub use service::Transport;
