//! Circuit breaker: stop calling a downstream that is failing, and let it recover.
//!
//! - **Closed**: calls pass. The outcome of each is kept in a sliding window of the last
//!   `window` calls; the breaker opens when at least `min_calls` are in the window and the
//!   failure rate reaches `failure_rate`, or after `consecutive_failures` failures in a row.
//! - **Open**: calls fail at once with [`CircuitOpen`], which carries the cooldown left (it
//!   becomes a 503 problem with `Retry-After`). After `cooldown` the breaker half-opens.
//! - **Half-open**: up to `half_open_probes` calls are let through; if they all succeed the
//!   breaker closes with an empty window, the first failure opens it again for a full cooldown.
//!   Calls beyond the probes fail fast as if open.
//!
//! A failure is an error from the inner layers (timeout, connection, transport) or a 5xx
//! answer. 4xx answers are the caller's problem and count as successes; a [`BulkheadFull`]
//! rejection is local saturation and is not counted at all.
//!
//! [`BulkheadFull`]: crate::client::bulkhead::BulkheadFull

mod error;
mod layer;
mod service;
mod state;

pub use error::CircuitOpen;
pub use layer::BreakerLayer;
pub use service::Breaker;
pub use state::{BreakerState, CircuitBreaker};
