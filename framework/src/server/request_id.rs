//! Request ids of the standard stack: the client's `x-request-id`, or a UUID v4 from a
//! per-thread generator, set on the request and echoed on the response.
//!
//! tower-http's `MakeRequestUuid` calls `Uuid::new_v4`, which (without `uuid`'s `fast-rng`
//! feature) asks the operating system for 16 random bytes: one `getrandom` system call per
//! request, about 1 % of a loaded service's CPU in the load benchmark ([`docs/performance.md`](https://github.com/servicekit/servicekit/blob/main/docs/performance.md)).
//! A request id must be unique, not secret, so [`fastrand`]'s per-thread generator is enough.
//!
//! The id is handled as tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer` did:
//! the request gets the header (when it had none) and a [`RequestId`] extension, the response
//! gets the header unless the handler set one. It is done inline by the stack's
//! [`RequestTelemetry`](super::request_telemetry) service rather than by two more layers.

use axum::http::header::Entry;
use axum::http::{HeaderMap, HeaderValue, Request, Response};
use bytes::Bytes;
use tower_http::request_id::RequestId;

use super::REQUEST_ID;
#[cfg(test)]
use super::REQUEST_ID_HEADER;

/// The id of `req`: its `x-request-id`, or a new one set as that header. Either way the
/// request carries it as a [`RequestId`] extension too. Returns the value to echo.
pub(crate) fn take_or_make<B>(req: &mut Request<B>) -> HeaderValue {
    // One look-up of the name (an `entry`) whether the client sent an id or not.
    let id = match req.headers_mut().entry(&REQUEST_ID) {
        Entry::Occupied(sent) => {
            let id = sent.get().clone();
            if req.extensions().get::<RequestId>().is_some() {
                return id;
            }
            id
        }
        Entry::Vacant(slot) => slot.insert(random_id()).clone(),
    };
    req.extensions_mut().insert(RequestId::new(id.clone()));
    id
}

/// Sets `id` as the response's `x-request-id` unless the handler set one.
pub(crate) fn echo<B>(res: &mut Response<B>, id: HeaderValue) {
    let headers: &mut HeaderMap = res.headers_mut();
    // One look-up of the name, not `contains_key` and `insert`.
    if let Entry::Vacant(slot) = headers.entry(&REQUEST_ID) {
        slot.insert(id);
    }
}

/// A random (version 4) UUID as header text.
fn random_id() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut text);
    // One allocation that the request header, the extension and the response header share
    // (a `Vec`'s bytes would take a second one on their first clone).
    HeaderValue::from_maybe_shared(Bytes::from_owner(text)).expect("a UUID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make() -> uuid::Uuid {
        let mut request = Request::new(());
        let id = take_or_make(&mut request);
        assert_eq!(request.headers()[REQUEST_ID_HEADER], id);
        assert_eq!(
            request
                .extensions()
                .get::<RequestId>()
                .map(RequestId::header_value),
            Some(&id)
        );
        uuid::Uuid::parse_str(id.to_str().expect("ASCII")).expect("a UUID")
    }

    #[test]
    fn ids_are_distinct_version_4_uuids() {
        let a = make();
        let b = make();
        assert_ne!(a, b);
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn the_clients_id_is_kept_and_echoed_unless_the_handler_set_one() {
        let mut request = Request::new(());
        request
            .headers_mut()
            .insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc"));
        let id = take_or_make(&mut request);
        assert_eq!(id, "abc");
        let mut response = Response::new(());
        echo(&mut response, id.clone());
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "abc");
        let mut response = Response::new(());
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER, HeaderValue::from_static("own"));
        echo(&mut response, id);
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "own");
    }
}
