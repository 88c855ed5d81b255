//! The inner half of the standard stack in one service with one future: problem+json for
//! unstructured error answers, panics caught, the request head's limits, the request's deadline,
//! its inbound context and the body limit.
//!
//! Each concern's code stays in its own module ([`problem_json`](super::problem_json),
//! [`catch_panic`](super::catch_panic), [`request_head`](super::request_head),
//! [`deadline`](super::deadline), [`inbound`](super::inbound), [`body_limit`](super::body_limit));
//! this layer only calls them in the order the separate layers had, outermost first. As six
//! layers, every request built six nested futures, each moved into the next one's state, two
//! task-local scopes entered at each poll and a `Then` combinator around them; here there is one
//! future, one scope ([`Scope`](super::scope::Scope)) and a branch for the rare error answer that
//! needs rewriting.
//!
//! [`ProblemJsonLayer`](super::ProblemJsonLayer), [`RequestDeadlineLayer`](super::RequestDeadlineLayer)
//! and [`SetInboundLayer`](super::SetInboundLayer) stay available as separate layers for routers
//! of your own.

mod future;
mod layer;
mod service;

pub(crate) use layer::RequestGuardLayer;

#[cfg(test)]
mod tests;
