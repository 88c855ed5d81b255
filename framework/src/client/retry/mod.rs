//! Retries with exponential backoff, full jitter and a retry budget.
//!
//! A call is retried only when all of these hold:
//! - the request is safe to repeat: `GET`, `HEAD`, `OPTIONS`, `PUT` or `DELETE`, or any method
//!   with an `Idempotency-Key` header (a `POST` without one is never retried), and its body can
//!   be sent again ([`ReplayBody`]: a buffered body can, a non-empty streamed body cannot);
//! - the attempt failed in a way that another attempt may fix: a connection error, a transport
//!   error, an attempt timeout, or a `429`, `502`, `503` or `504` answer. An open breaker, a
//!   full bulkhead and a passed deadline are final;
//! - attempts are left (`max_attempts` counts the first);
//! - the wait fits before the call's deadline. The wait is the answer's `Retry-After` (seconds
//!   or an HTTP date) when it has one, else a random duration in
//!   `[0, min(max_backoff, base_backoff * 2^(retry - 1))]` ("full jitter", so that clients that
//!   failed together do not retry together);
//! - the retry budget allows it: each call deposits, each retry withdraws, so retries stay
//!   below `budget_percent` of recent calls plus `budget_min_per_second`
//!   ([`tower::retry::budget::TpsBudget`]). Without a budget a failing downstream receives
//!   `max_attempts` times its normal load exactly when it can least take it.
//!
//! Otherwise the last outcome is returned as it is.
//!
//! This is a small service of our own rather than `tower::retry::Retry` because the decision
//! needs the answer's `Retry-After`, the request's deadline and a metric per retry reason, all
//! in one place; the budget itself is tower's.

mod backoff;
mod layer;
mod policy;
mod replay;
mod service;

pub use layer::RetryLayer;
pub use policy::RetryPolicy;
pub use replay::ReplayBody;
pub use service::Retry;

/// The header that makes any request retryable (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
