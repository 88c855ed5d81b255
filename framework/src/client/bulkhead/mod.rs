//! A concurrency limit per downstream, so one slow dependency cannot take every task and
//! connection of the service with it.
//!
//! Unlike `tower::limit::ConcurrencyLimit`, which makes callers wait in `poll_ready` for as long
//! as it takes, an excess attempt here fails with [`BulkheadFull`] at once, or after at most
//! `max_wait`. `poll_ready` is always ready, so the layer composes with clone-and-call.

mod error;
mod layer;
mod service;

pub use error::BulkheadFull;
pub use layer::BulkheadLayer;
pub use service::Bulkhead;
