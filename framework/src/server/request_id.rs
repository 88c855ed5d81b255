//! Request ids of the standard stack: UUID v4 text from a per-thread generator.
//!
//! tower-http's `MakeRequestUuid` calls `Uuid::new_v4`, which (without `uuid`'s `fast-rng`
//! feature) asks the operating system for 16 random bytes: one `getrandom` system call per
//! request, about 1 % of a loaded service's CPU in the load benchmark ([`docs/performance.md`](https://github.com/servicekit/servicekit/blob/main/docs/performance.md)).
//! A request id must be unique, not secret, so [`fastrand`]'s per-thread generator is enough.

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes a random (version 4) UUID for each request that arrives without an id.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MakeRandomRequestId;

impl MakeRequestId for MakeRandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make() -> uuid::Uuid {
        let request = Request::new(());
        let id = MakeRandomRequestId
            .make_request_id(&request)
            .expect("an id is always made");
        uuid::Uuid::parse_str(id.header_value().to_str().expect("ASCII")).expect("a UUID")
    }

    #[test]
    fn ids_are_distinct_version_4_uuids() {
        let a = make();
        let b = make();
        assert_ne!(a, b);
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }
}
