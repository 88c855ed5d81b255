//! Turns every error response that is not already structured into problem+json.
//!
//! axum's rejections (malformed JSON, wrong content type), the router's 404/405 and tower-http's
//! 413 answer with plain text or an empty body. This layer rewrites them, keeping the status,
//! the headers (such as `Allow`) and the text as `detail`, so clients see one error format.
//! Success responses pass through without allocation.

mod layer;
mod service;

pub use layer::ProblemJsonLayer;
pub use service::ProblemJson;
pub(crate) use service::{needs_rewrite, to_problem};
