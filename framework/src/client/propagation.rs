//! What an outgoing call carries over from the request being handled: the request id, the
//! caller's `Authorization` (when forwarding is on) and the remaining deadline.
//!
//! The context is an [`Inbound`]: found by itself inside a request served with the standard
//! stack, or given with `RequestBuilder::inbound`. [`propagate`] copies it onto outgoing
//! headers; the W3C `traceparent`/`tracestate` of the call's client span are injected next to
//! it, in `RequestBuilder::send`.

use http::{HeaderMap, HeaderName, header};

use crate::server::{DEADLINE_HEADER, Deadline, Inbound, REQUEST_ID_HEADER};

/// Copies the inbound context onto an outgoing call's headers: the request id always, the
/// caller's `Authorization` only when `forward_authorization` is set and the call has none of
/// its own.
pub(crate) fn propagate(headers: &mut HeaderMap, inbound: &Inbound, forward_authorization: bool) {
    if let Some(id) = inbound.request_id() {
        headers
            .entry(HeaderName::from_static(REQUEST_ID_HEADER))
            .or_insert_with(|| id.clone());
    }
    if forward_authorization && let Some(auth) = inbound.authorization() {
        headers
            .entry(header::AUTHORIZATION)
            .or_insert_with(|| auth.clone());
    }
}

/// Tells the downstream how long this attempt may take (the remaining budget in ms).
pub(crate) fn set_deadline(headers: &mut HeaderMap, deadline: Deadline) {
    headers.insert(
        HeaderName::from_static(DEADLINE_HEADER),
        deadline.to_header(),
    );
}
