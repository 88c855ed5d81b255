//! Limits on the request head that hyper would otherwise enforce with an empty response.
//!
//! hyper answers requests its HTTP/1 parser rejects by itself, before any service runs: bad
//! bytes in the request line or headers get an empty `400`, too many headers or a head larger
//! than its read buffer an empty `431`, a URI longer than it accepts `414`, differing
//! `Content-Length` values `400`. hyper 1 and hyper-util offer no hook to shape these answers
//! (the connection writes them and closes), so they cannot be problem+json. What servicekit can
//! do, the standard stack's guard ([`request_guard`](super::request_guard)) does with the checks
//! here, below hyper's own limits, so that the usual cases are problem+json:
//! - more than [`MAX_HEAD_BYTES`] of header names and values (hyper's buffer holds about
//!   400 KiB) -> 431;
//! - a request target longer than [`MAX_URI_BYTES`] -> 414;
//! - more than [`MAX_HEADERS`] header fields -> 431. Over HTTP/1 this is hyper's own limit
//!   (its default, 100), which answers first with its empty 431: raising hyper's limit above
//!   100 so that this check could answer makes hyper allocate its two header arrays (about
//!   13 KiB each) on the heap for every request instead of inline, about 760 instructions per
//!   request (docs/performance.md, seventh round). HTTP/2 has no count limit in hyper, so there
//!   this check answers.
//!
//! Message framing needs no check here: hyper refuses differing `Content-Length` values (400),
//! merges identical ones, and ignores `Content-Length` next to `Transfer-Encoding: chunked`
//! (closing the connection afterwards), as RFC 9112 §6.3 asks, so a request that reaches a
//! service has exactly one framing.

use axum::extract::Request;
use axum::http::StatusCode;

use super::problem::Problem;

/// Most header fields a request may carry (hyper's own HTTP/1 limit).
pub const MAX_HEADERS: usize = 100;
/// Most bytes of header names and values (with `": "` and line ends) a request may carry:
/// room for large tokens and cookies, below the ~400 KiB hyper buffers for a head.
pub const MAX_HEAD_BYTES: usize = 256 * 1024;
/// Longest request target (path and query).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The problem+json answer for a request whose head breaks the limits above, if it does.
pub(crate) fn problem(req: &Request) -> Option<Problem> {
    let headers = req.headers();
    if headers.len() > MAX_HEADERS {
        return Some(
            Problem::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).with_detail(format!(
                "The request has {} header fields; at most {MAX_HEADERS} are accepted.",
                headers.len()
            )),
        );
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > MAX_HEAD_BYTES {
        return Some(
            Problem::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).with_detail(format!(
                "The request's headers take {bytes} bytes; at most {MAX_HEAD_BYTES} are accepted."
            )),
        );
    }
    let uri = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(Problem::new(StatusCode::URI_TOO_LONG).with_detail(format!(
            "The request target has {uri} bytes; at most {MAX_URI_BYTES} are accepted."
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::get("/");
        for (name, value) in headers {
            b = b.header(*name, *value);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn heads_within_the_limits_pass() {
        assert!(problem(&request(&[("content-length", "3")])).is_none());
    }

    #[test]
    fn each_limit_has_its_status() {
        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("x-h{i}"), "v".to_string()))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(problem(&request(&many)).unwrap().status(), 431);
        let big = "v".repeat(MAX_HEAD_BYTES);
        assert_eq!(problem(&request(&[("x-big", &big)])).unwrap().status(), 431);
        let long = format!("/{}", "a".repeat(MAX_URI_BYTES));
        let req = axum::http::Request::get(long)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(problem(&req).unwrap().status(), 414);
    }
}
