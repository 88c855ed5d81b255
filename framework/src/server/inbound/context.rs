use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderValue, header};
use tower_http::request_id::RequestId;

use crate::server::scope::Scope;
use crate::server::{DEADLINE, Deadline, REQUEST_ID};

/// The context of the request being handled, to pass on to outgoing calls: its request id,
/// the caller's `Authorization` (forwarded only by clients configured to) and its deadline.
///
/// Inside a request served with the standard stack, [`ServiceClient`] calls pick it up by
/// themselves ([`Inbound::current`]). It is also an axum extractor that never fails, for calls
/// made outside the request's task (e.g. from `tokio::spawn`); hand it to
/// [`RequestBuilder::inbound`]:
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
///     let call = tokio::spawn(async move {
///         students.get("/students/42").inbound(&inbound).send().await
///     });
///     let res = call.await.map_err(|e| Problem::internal(&e))??;
///     Ok(res.status().to_string())
/// }
/// ```
///
/// [`ServiceClient`]: crate::client::ServiceClient
/// [`RequestBuilder::inbound`]: crate::client::RequestBuilder::inbound
#[derive(Clone, Default)]
pub struct Inbound {
    request_id: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    deadline: Option<Deadline>,
}

impl Inbound {
    /// Reads the context from an incoming request's headers and extensions.
    pub fn from_parts(parts: &Parts) -> Self {
        Self::from_request(&parts.headers, &parts.extensions)
    }

    /// The context of a request, wherever it is in a stack.
    pub(crate) fn from_request(headers: &HeaderMap, extensions: &Extensions) -> Self {
        Self {
            request_id: headers.get(&REQUEST_ID).cloned(),
            authorization: authorization(headers),
            // Set by the server's deadline layer; read the header too for routers without it.
            deadline: extensions
                .get::<Deadline>()
                .copied()
                .or_else(|| headers.get(&DEADLINE).and_then(Deadline::from_header)),
        }
    }

    /// The context of a request in the standard stack's guard, which runs after the request id
    /// was set as a [`RequestId`] extension and after the deadline's admission took the
    /// caller's deadline header off (a trusted deadline is a [`Deadline`] extension). Two
    /// header look-ups fewer than [`from_request`](Self::from_request) (about 250
    /// instructions): an extension look-up only hashes a type id.
    pub(crate) fn admitted(headers: &HeaderMap, extensions: &Extensions) -> Self {
        Self {
            request_id: extensions
                .get::<RequestId>()
                .map(|id| id.header_value().clone())
                .or_else(|| headers.get(&REQUEST_ID).cloned()),
            authorization: authorization(headers),
            deadline: extensions.get::<Deadline>().copied(),
        }
    }

    /// The context of the request the current task is handling, when it runs inside
    /// [`SetInboundLayer`](super::SetInboundLayer) or the standard stack; `None` elsewhere,
    /// including in tasks spawned by a handler.
    ///
    /// Its deadline is the request's effective one at the time of the call: the server's own
    /// `server.request_timeout`, or a trusted caller's earlier deadline (also one trusted after
    /// the context was captured, when auth verified a service token).
    pub fn current() -> Option<Self> {
        Scope::with(|scope| {
            let mut inbound = scope.inbound.clone()?;
            if let Some(budget) = &scope.budget {
                inbound.deadline = Some(Deadline::at(budget.effective().0));
            }
            Some(inbound)
        })
        .flatten()
    }

    /// The incoming request id.
    pub fn request_id(&self) -> Option<&HeaderValue> {
        self.request_id.as_ref()
    }

    /// The caller's `Authorization` header, marked sensitive.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// The caller's deadline, if it sent one.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }
}

/// The caller's `Authorization`, marked sensitive so that it is never logged.
fn authorization(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut authorization = headers.get(header::AUTHORIZATION).cloned();
    if let Some(value) = &mut authorization {
        value.set_sensitive(true);
    }
    authorization
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID.clone(), HeaderValue::from_static("abc"));
        headers.insert(DEADLINE.clone(), HeaderValue::from_static("250"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        headers
    }

    #[test]
    fn the_deadline_header_is_read_unless_admitted() {
        let headers = headers();
        let none = Extensions::new();
        let alone = Inbound::from_request(&headers, &none);
        assert!(alone.deadline().is_some());
        assert_eq!(
            alone.request_id().map(HeaderValue::as_bytes),
            Some(&b"abc"[..])
        );
        assert!(alone.authorization().is_some_and(HeaderValue::is_sensitive));
        let admitted = Inbound::admitted(&headers, &none);
        assert!(admitted.deadline().is_none());
        assert_eq!(admitted.request_id(), alone.request_id());
        assert!(
            admitted
                .authorization()
                .is_some_and(HeaderValue::is_sensitive)
        );

        // A deadline the layer trusted counts either way; the request id extension comes first.
        let mut trusted = Extensions::new();
        trusted.insert(Deadline::after(Duration::from_secs(1)));
        trusted.insert(RequestId::new(HeaderValue::from_static("ext")));
        let admitted = Inbound::admitted(&headers, &trusted);
        assert!(admitted.deadline().is_some());
        assert_eq!(
            admitted.request_id().map(HeaderValue::as_bytes),
            Some(&b"ext"[..])
        );
        assert!(
            Inbound::from_request(&headers, &trusted)
                .deadline()
                .is_some()
        );
    }
}
