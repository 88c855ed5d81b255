//! What an outgoing call carries over from the request being handled: the request id, the
//! caller's `Authorization` (when forwarding is on) and the remaining deadline.
//!
//! [`propagate`] copies the inbound context onto outgoing headers; the W3C
//! `traceparent`/`tracestate` of the call's client span are injected next to it, in
//! `RequestBuilder::send`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::server::{DEADLINE_HEADER, Deadline, REQUEST_ID_HEADER};

/// The context of the request being handled, to pass on to outgoing calls.
///
/// An axum extractor that never fails; hand it to
/// [`RequestBuilder::inbound`](crate::client::RequestBuilder::inbound):
///
/// ```no_run
/// use axum::extract::State;
/// use servicekit::Problem;
/// use servicekit::client::{Inbound, ServiceClient};
///
/// async fn handler(
///     State(students): State<ServiceClient>,
///     inbound: Inbound,
/// ) -> Result<String, Problem> {
///     let res = students.get("/students/42").inbound(&inbound).send().await?;
///     Ok(res.status().to_string())
/// }
/// ```
#[derive(Clone, Default)]
pub struct Inbound {
    request_id: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    deadline: Option<Deadline>,
}

impl Inbound {
    /// Reads the context from an incoming request's headers and extensions.
    pub fn from_parts(parts: &Parts) -> Self {
        let mut authorization = parts.headers.get(header::AUTHORIZATION).cloned();
        if let Some(value) = &mut authorization {
            value.set_sensitive(true);
        }
        Self {
            request_id: parts.headers.get(REQUEST_ID_HEADER).cloned(),
            authorization,
            // Set by the server's deadline layer; read the header too for routers without it.
            deadline: parts.extensions.get::<Deadline>().copied().or_else(|| {
                parts
                    .headers
                    .get(DEADLINE_HEADER)
                    .and_then(Deadline::from_header)
            }),
        }
    }

    /// The incoming request id.
    pub fn request_id(&self) -> Option<&HeaderValue> {
        self.request_id.as_ref()
    }

    /// The caller's deadline, if it sent one.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("request_id", &self.request_id)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Inbound {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// Copies the inbound context onto an outgoing call's headers: the request id always, the
/// caller's `Authorization` only when `forward_authorization` is set and the call has none of
/// its own.
pub(crate) fn propagate(headers: &mut HeaderMap, inbound: &Inbound, forward_authorization: bool) {
    if let Some(id) = &inbound.request_id {
        headers
            .entry(HeaderName::from_static(REQUEST_ID_HEADER))
            .or_insert_with(|| id.clone());
    }
    if forward_authorization && let Some(auth) = &inbound.authorization {
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
