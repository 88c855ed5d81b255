//! `server.body_limit`: a request whose body is larger is answered 413 (problem+json through the
//! stack's [`ProblemJsonLayer`](super::ProblemJsonLayer)).
//!
//! The same checks as tower-http's `RequestBodyLimitLayer`: a `Content-Length` over the limit is
//! answered at once without running the handler; any other body is read through
//! `http_body_util::Limited`, so a handler or extractor reading past the limit gets a length
//! limit error, which axum's extractors answer 413. Two differences that only save work: a
//! request without a body (most GETs) is passed on as it is instead of in a boxed `Limited`
//! wrapper, and the response stays axum's `Body` instead of a wrapper that the next layer boxes
//! again.

mod layer;
mod service;

pub(crate) use layer::BodyLimitLayer;
