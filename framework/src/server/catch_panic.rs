//! Turns a handler's panic into a logged 500 problem+json, so one bad request never takes the
//! connection (or the service) down: the standard stack's guard
//! ([`request_guard`](super::request_guard)) catches panics of the inner service's `call` and of
//! every poll of its future, and answers with [`panic_response`].
//!
//! tower-http's `CatchPanicLayer` does the same, but boxes every response body (its response
//! type is `Response<UnsyncBoxBody>`), and the layers outside box it once more into axum's
//! `Body`. The guard keeps axum's `Body` as it is: one allocation less per request.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

/// The answer to a request whose handler panicked; the panic message is logged, not sent.
pub(crate) fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = %message, "handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
        .with_detail("The server failed to handle the request; it has been logged.")
        .into_response()
}
