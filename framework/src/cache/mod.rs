//! Redis: the shared store for cluster-wide rate limits (`rate_limit.store = "redis"`).
//!
//! Needs servicekit's `cache` feature.

#[cfg(feature = "rate-limit")]
pub(crate) mod gcra;
