//! ServiceClient against real loopback servers whose behaviour each test controls.

mod body_limit;
mod breaker;
mod budget;
mod bulkhead;
mod deadline;
mod discovery;
mod downstream;
mod forward;
mod https;
mod propagation;
mod retry;
