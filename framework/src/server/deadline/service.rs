use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use tower::Service;

use super::body::Waiting;
use super::budget::{Budget, Cause, Expired};
use super::future::DeadlineFuture;
use super::layer::Policy;
use super::race::Race;
use super::{DEADLINE_HEADER, Deadline};
use crate::BoxError;
use crate::server::problem::Problem;
use crate::server::scope::Part;

/// Service that bounds requests by the server's timeout and trusted callers' deadlines; see
/// [`RequestDeadlineLayer`](super::RequestDeadlineLayer).
#[derive(Debug, Clone)]
pub struct RequestDeadline<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> RequestDeadline<S> {
    /// Wraps `inner` with the limits of [`RequestDeadlineLayer::new`](super::RequestDeadlineLayer::new).
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self::with_policy(inner, Arc::new(Policy::new(timeout)))
    }

    pub(super) fn with_policy(inner: S, policy: Arc<Policy>) -> Self {
        Self { inner, policy }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ResB> Service<Request<Body>> for RequestDeadline<S>
where
    S: Service<Request<Body>, Response = Response<ResB>>,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let Ok(budget) = admit(&self.policy, &mut req) else {
            return DeadlineFuture::answered(expired_before_start());
        };
        // A request without a body (most GETs) never waits for the client: nothing to track.
        let waiting = Waiting::track(req.body_mut());
        // Keeps the inbound context of a layer outside.
        let fut = Part::Budget(budget.clone()).run(self.inner.call(req));
        DeadlineFuture::running(Race::new(fut, budget, waiting, self.policy.timeout))
    }
}

/// Takes the caller's deadline header off the request (in every case: an untrusted one must not
/// reach the handler or be passed on by outgoing calls) and makes the request's budget under
/// `policy`. `Err` when a trusted caller's deadline has already passed: the handler is not
/// started, [`expired_before_start`] is the answer.
pub(crate) fn admit<B>(policy: &Policy, req: &mut Request<B>) -> Result<Budget, Expired> {
    let now = Instant::now();
    let own = now + policy.timeout;
    let asked = take_deadline_header(req.headers_mut())
        .and_then(|v| Deadline::from_header(&v))
        .map(Deadline::instant);
    let peer_trusted = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| policy.trusts(peer));
    let (caller, pending) = match asked {
        Some(at) if peer_trusted => (Some(at), None),
        Some(at) if policy.service_tokens => (None, Some(at)),
        Some(_) => {
            tracing::debug!("ignoring {DEADLINE_HEADER} from an untrusted caller");
            (None, None)
        }
        None => (None, None),
    };
    if let Some(caller) = caller {
        if caller <= Instant::now() {
            tracing::debug!("caller's deadline already passed; request not started");
            return Err(Expired);
        }
        req.extensions_mut().insert(Deadline::at(caller.min(own)));
    }
    Ok(Budget::new(own, caller, pending))
}

/// Most header fields [`take_deadline_header`] compares one by one before it hashes the name.
const SCAN_BELOW: usize = 16;

/// Removes and returns the caller's deadline header. Most requests have none, and a look-up by
/// name hashes all 21 bytes of it (about 200 instructions for `remove`); a short head is
/// checked field by field instead, where a name of another length or a standard name differs
/// at its first comparison.
fn take_deadline_header(headers: &mut HeaderMap) -> Option<HeaderValue> {
    if headers.keys_len() < SCAN_BELOW && !headers.keys().any(|name| name == super::DEADLINE) {
        return None;
    }
    headers.remove(&super::DEADLINE)
}

/// The answer to a request whose time ran out: 504 at the caller's deadline, 408 when the server
/// was still waiting for the client's body, 503 when the server was too slow.
pub(super) fn expired(
    cause: Cause,
    waiting_for_client: bool,
    timeout: Option<Duration>,
) -> Response<Body> {
    let within = timeout
        .map(|t| humantime::format_duration(t).to_string())
        .unwrap_or_default();
    match cause {
        Cause::Caller => {
            tracing::warn!("request cancelled at the caller's deadline");
            Problem::new(StatusCode::GATEWAY_TIMEOUT)
                .with_detail(format!(
                    "The request did not complete within the caller's deadline ({DEADLINE_HEADER})."
                ))
                .into_response()
        }
        Cause::Server if waiting_for_client => {
            tracing::info!(timeout = %within, "request body did not arrive in time");
            // RFC 9110 §15.5.9: the server closes the connection after a 408.
            Problem::new(StatusCode::REQUEST_TIMEOUT)
                .with_detail(format!("The request body did not arrive within {within}."))
                .with_header(header::CONNECTION, HeaderValue::from_static("close"))
                .into_response()
        }
        Cause::Server => {
            tracing::warn!(timeout = %within, "request timed out");
            Problem::unavailable(format!("The request did not complete within {within}."))
                .into_response()
        }
    }
}

/// The answer when the caller's deadline had passed before the handler could start: at the
/// deadline's admission, or in the auth layer that finds so while trusting it (the
/// [`RequestDeadline`] outside replaces that one).
pub(crate) fn expired_before_start() -> axum::response::Response {
    expired(Cause::Caller, false, None)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::routing::{get, post};
    use futures_util::StreamExt;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::server::RequestDeadlineLayer;

    #[test]
    fn the_deadline_header_is_taken_from_short_and_long_heads() {
        for others in [0, 3, SCAN_BELOW - 2, SCAN_BELOW, 40] {
            let mut headers = HeaderMap::new();
            for i in 0..others {
                headers.insert(
                    http::HeaderName::try_from(format!("x-h{i}")).unwrap(),
                    HeaderValue::from_static("v"),
                );
            }
            headers.insert(header::HOST, HeaderValue::from_static("a"));
            assert_eq!(take_deadline_header(&mut headers), None, "{others}");
            headers.insert(DEADLINE_HEADER, HeaderValue::from_static("250"));
            assert_eq!(
                take_deadline_header(&mut headers),
                Some(HeaderValue::from_static("250")),
                "{others}"
            );
            assert!(!headers.contains_key(DEADLINE_HEADER), "{others}");
            assert_eq!(headers.len(), others + 1);
        }
    }

    fn routes() -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/left",
                get(|req: Request<Body>| async move {
                    let d = req.extensions().get::<Deadline>().copied();
                    let header = req.headers().contains_key(DEADLINE_HEADER);
                    let left = d
                        .map(|d| d.remaining().as_millis().to_string())
                        .unwrap_or_default();
                    format!("{left};{header}")
                }),
            )
            .route("/echo", post(|body: String| async move { body }))
    }

    fn trusting(timeout: Duration) -> Router {
        let layer =
            RequestDeadlineLayer::new(timeout).trust_networks(["127.0.0.0/8".parse().unwrap()]);
        routes().layer(layer)
    }

    fn from(peer: &str, path: &str, budget: Option<&str>) -> Request<Body> {
        let mut b = Request::get(path);
        if let Some(budget) = budget {
            b = b.header(DEADLINE_HEADER, budget);
        }
        let mut req = b.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    }

    async fn text(res: Response<Body>) -> String {
        let body = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_expired_trusted_deadline_is_not_started() {
        let app = trusting(Duration::from_secs(30));
        let res = app
            .oneshot(from("127.0.0.1:1", "/slow", Some("0")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn a_trusted_handler_is_cut_at_the_callers_deadline() {
        let started = Instant::now();
        let app = trusting(Duration::from_secs(30));
        let res = app
            .oneshot(from("127.0.0.1:1", "/slow", Some("50")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn the_trusted_deadline_reaches_the_handler_capped_by_the_timeout() {
        let app = trusting(Duration::from_millis(500));
        let res = app
            .clone()
            .oneshot(from("127.0.0.1:1", "/left", Some("60000")))
            .await
            .unwrap();
        let body = text(res).await;
        let (left, header) = body.split_once(';').unwrap();
        let left: u64 = left.parse().unwrap();
        assert!(left > 0 && left <= 500, "{left}");
        assert_eq!(header, "false", "the header itself is taken off");
    }

    #[tokio::test]
    async fn an_untrusted_callers_deadline_is_ignored() {
        let app = trusting(Duration::from_secs(30));
        for peer in ["192.0.2.7:1", "[::ffff:192.0.2.7]:1"] {
            let res = app
                .clone()
                .oneshot(from(peer, "/left", Some("0")))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                text(res).await,
                ";false",
                "no deadline and no header for {peer}"
            );
        }
        // A peer given as an IPv4-mapped IPv6 address counts as its IPv4 address.
        let res = app
            .oneshot(from("[::ffff:127.0.0.1]:1", "/slow", Some("0")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn the_servers_timeout_is_503_for_a_slow_handler() {
        let app = routes().layer(RequestDeadlineLayer::new(Duration::from_millis(50)));
        let res = app
            .oneshot(from("192.0.2.7:1", "/slow", None))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn the_servers_timeout_is_408_while_the_body_trickles_in() {
        let app = routes().layer(RequestDeadlineLayer::new(Duration::from_millis(100)));
        // One byte of the body, then nothing more from the client.
        let trickle =
            futures_util::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"a")) })
                .chain(futures_util::stream::pending());
        let req = Request::post("/echo")
            .body(Body::from_stream(trickle))
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(res.headers()[header::CONNECTION], "close");
    }
}
