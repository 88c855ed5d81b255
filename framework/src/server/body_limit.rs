//! `server.body_limit`: a request whose body is larger is answered 413 as problem+json (by the
//! standard stack's guard, [`request_guard`](super::request_guard)).
//!
//! The same checks as tower-http's `RequestBodyLimitLayer`: a `Content-Length` over the limit is
//! answered at once without running the handler; any other body is read through
//! `http_body_util::Limited`, so a handler or extractor reading past the limit gets a length
//! limit error, which axum's extractors answer 413. Two differences that only save work: a
//! request without a body (most GETs) is passed on as it is instead of in a boxed `Limited`
//! wrapper, and the response stays axum's `Body` instead of a wrapper that the next layer boxes
//! again.

use axum::body::{Body, HttpBody};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;

/// A request whose declared length is over the limit: the handler is not run.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl IntoResponse for TooLarge {
    /// The answer tower-http's limit gives, which the problem+json mapping turns into a problem.
    fn into_response(self) -> Response<Body> {
        let mut res = Response::new(Body::from("length limit exceeded"));
        *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    }
}

/// Limits `req`'s body to `limit` bytes; `Err` when its declared length is over the limit.
pub(crate) fn apply(req: &mut Request<Body>, limit: usize) -> Result<(), TooLarge> {
    // A body already at its end (most GETs) has nothing to limit, and no length to look up.
    if req.body().is_end_stream() {
        return Ok(());
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let limit = match declared {
        Some(len) if len > limit => return Err(TooLarge),
        Some(len) => limit.min(len),
        None => limit,
    };
    let body = std::mem::take(req.body_mut());
    *req.body_mut() = Body::new(http_body_util::Limited::new(body, limit));
    Ok(())
}
