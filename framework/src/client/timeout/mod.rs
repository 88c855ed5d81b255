//! Innermost policy layer: each attempt gets at most `attempt_timeout`, and never more than
//! what is left of the call's deadline.
//!
//! The attempt's own deadline is written into the request's extensions, so the transport sends
//! the downstream exactly the budget this attempt has (`x-request-deadline-ms`).

mod error;
mod layer;
mod service;

pub use error::AttemptTimedOut;
pub use layer::AttemptTimeoutLayer;
pub use service::AttemptTimeout;
