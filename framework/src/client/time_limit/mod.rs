//! A time limit on a call, used twice in the stack: outermost for the whole call (retries and
//! backoff included, `deadline`) and innermost for each attempt (`attempt_timeout`).
//!
//! Both uses do the same thing: narrow the request's [`Deadline`](crate::server::Deadline)
//! extension to at most the budget from now (an earlier deadline, such as an incoming
//! request's passed on by [`RequestBuilder::inbound`](crate::client::RequestBuilder::inbound),
//! wins), write it back into the extensions and cut the inner service at that instant. So
//! retry does not sleep past the call's deadline, an attempt never outlives it, and the
//! transport sends the downstream exactly the budget the attempt has (`x-request-deadline-ms`).
//!
//! They differ only in what they report, because the retry layer between them retries a timed
//! out attempt but not a passed deadline: [`TimeLimitError::DeadlineExceeded`] for the call,
//! [`TimeLimitError::AttemptTimedOut`] for an attempt. A call whose deadline has already passed
//! is not sent.

mod error;
mod layer;
mod service;

pub use error::TimeLimitError;
pub use layer::TimeLimitLayer;
pub use service::TimeLimit;

/// What a [`TimeLimit`] bounds, and so what it reports when the time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The whole call: fails fast when already expired, reports a passed deadline.
    Call,
    /// One attempt: reports a timeout with the budget the attempt had.
    Attempt,
}
