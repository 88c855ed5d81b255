//! ServiceClient against real loopback servers whose behaviour each test controls.

mod breaker;
mod budget;
mod bulkhead;
mod deadline;
mod discovery;
mod downstream;
mod propagation;
mod retry;
