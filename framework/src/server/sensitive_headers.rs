//! Credentials in the request's headers (`Authorization`, `Cookie`, `Proxy-Authorization`) are
//! marked sensitive, so that a `Debug` of the headers (a handler's log line, a panic message)
//! shows `Sensitive` instead of the value, and HTTP/2's HPACK never indexes them.
//!
//! tower-http's `SetSensitiveRequestHeadersLayer` does the same as one more layer of the stack:
//! one `HeaderMap::entry` per name (each reserves room in the map first) and one more level of
//! futures. Here the standard stack's telemetry layer calls [`mark`] with one pass over the
//! headers, whose names compare as small integers for standard headers.

use axum::http::{HeaderMap, header};

/// Marks every value of `Authorization`, `Cookie` and `Proxy-Authorization` sensitive.
pub(crate) fn mark(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if name == header::AUTHORIZATION
            || name == header::COOKIE
            || name == header::PROXY_AUTHORIZATION
        {
            value.set_sensitive(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn every_value_of_the_credential_headers_and_only_those_is_marked() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        headers.append(header::COOKIE, HeaderValue::from_static("a=1"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        headers.insert(
            header::PROXY_AUTHORIZATION,
            HeaderValue::from_static("Basic x"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        mark(&mut headers);
        assert!(headers[header::AUTHORIZATION].is_sensitive());
        assert!(
            headers
                .get_all(header::COOKIE)
                .iter()
                .all(HeaderValue::is_sensitive)
        );
        assert_eq!(headers.get_all(header::COOKIE).iter().count(), 2);
        assert!(headers[header::PROXY_AUTHORIZATION].is_sensitive());
        assert!(!headers[header::ACCEPT].is_sensitive());
        assert!(format!("{headers:?}").contains("Sensitive"));
        assert!(!format!("{headers:?}").contains("Bearer"));
    }
}
