use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::Service;

use super::layer::{Shared, Store};
use super::limiter::Decision;
use super::{RATELIMIT_LIMIT, RATELIMIT_REMAINING, RATELIMIT_RESET};
use crate::server::Problem;
use crate::telemetry::catalog::HTTP_SERVER_RATE_LIMITED_TOTAL;

/// Service that throttles requests per client; see [`RateLimitLayer`](super::RateLimitLayer).
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    shared: Option<Arc<Shared>>,
}

impl<S> RateLimit<S> {
    pub(super) fn new(inner: S, shared: Option<Arc<Shared>>) -> Self {
        Self { inner, shared }
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

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let Some(shared) = &self.shared else {
            return Box::pin(self.inner.call(req));
        };
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let key = shared.keys.key(&req);
        match &shared.store {
            Store::Local(limiters) => {
                let decision = limiters.check(req.method(), route, &key);
                if decision.allowed {
                    let fut = self.inner.call(req);
                    return Box::pin(async move {
                        let mut res = fut.await?;
                        set_headers(res.headers_mut(), &decision);
                        Ok(res)
                    });
                }
                count_limited(req.method(), route, &decision);
                Box::pin(async move { Ok(limited(&decision)) })
            }
            #[cfg(feature = "cache")]
            Store::Redis(_) => {
                // The decision needs a round trip, so the inner service is called from the
                // future: take the one that is ready and leave a clone in its place.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(redis_call(Arc::clone(shared), inner, req, key))
            }
        }
    }
}

/// A request against the Redis store: count it, then call `inner`, refuse it, or apply the
/// failure policy.
#[cfg(feature = "cache")]
async fn redis_call<S, B>(
    shared: Arc<Shared>,
    mut inner: S,
    req: Request<B>,
    key: super::key::ClientKey,
) -> Result<Response, S::Error>
where
    S: Service<Request<B>, Response = Response>,
{
    let Store::Redis(limiters) = &shared.store else {
        unreachable!("redis_call is only called for the Redis store")
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    match limiters.check(req.method(), route, &key).await {
        Ok(decision) if decision.allowed => {
            let mut res = inner.call(req).await?;
            set_headers(res.headers_mut(), &decision);
            Ok(res)
        }
        Ok(decision) => {
            count_limited(req.method(), route, &decision);
            Ok(limited(&decision))
        }
        Err(error) => {
            limiters.failed(&error);
            match limiters.policy {
                super::StoreErrorPolicy::FailOpen => inner.call(req).await,
                super::StoreErrorPolicy::FailClosed => Ok(store_unavailable()),
            }
        }
    }
}

/// Counts a 429 in [`HTTP_SERVER_RATE_LIMITED_TOTAL`] and notes it at debug.
fn count_limited(method: &axum::http::Method, route: Option<&str>, decision: &Decision) {
    let route = route.unwrap_or("unmatched").to_owned();
    metrics::counter!(HTTP_SERVER_RATE_LIMITED_TOTAL, "method" => method.as_str().to_owned(), "route" => route)
        .increment(1);
    tracing::debug!(retry_after = ?decision.retry_after, "request rate-limited");
}

/// The `fail_closed` answer while the Redis store fails: 503 problem+json, `Retry-After: 1`.
#[cfg(feature = "cache")]
fn store_unavailable() -> Response {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_detail("The rate limit cannot be checked right now; retry in a second.")
        .with_header(header::RETRY_AFTER, HeaderValue::from(1u32))
        .into_response()
}

/// The 429 answer: problem+json with `Retry-After` and the `RateLimit-*` headers.
fn limited(decision: &Decision) -> Response {
    let retry_after = whole_seconds(decision.retry_after).max(1);
    let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS)
        .with_detail(format!(
            "Too many requests from this client; retry after {retry_after} s."
        ))
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
        .into_response();
    set_headers(res.headers_mut(), decision);
    res
}

/// Sets `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, unless an inner
/// (more specific) limiter already did.
pub(super) fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    if headers.contains_key(RATELIMIT_LIMIT) {
        return;
    }
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(
        RATELIMIT_RESET,
        HeaderValue::from(whole_seconds(decision.reset)),
    );
}

/// Whole seconds, rounded up (a client waiting that long is never early).
pub(super) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;
    use crate::server::RateLimitLayer;

    #[test]
    fn header_values_round_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
        let mut h = HeaderMap::new();
        let d = Decision {
            allowed: true,
            limit: 5,
            remaining: 3,
            reset: Duration::from_millis(400),
            retry_after: Duration::ZERO,
        };
        set_headers(&mut h, &d);
        assert_eq!(h[RATELIMIT_LIMIT], "5");
        assert_eq!(h[RATELIMIT_REMAINING], "3");
        assert_eq!(h[RATELIMIT_RESET], "1");
        set_headers(&mut h, &Decision { remaining: 0, ..d });
        assert_eq!(
            h[RATELIMIT_REMAINING], "3",
            "the inner limiter's headers stay"
        );
    }

    #[tokio::test]
    async fn disabled_layers_add_nothing_and_limited_requests_get_429() {
        let app = |layer: RateLimitLayer| {
            Router::new()
                .route("/", get(|| async { "ok" }))
                .layer(layer)
        };
        let res = app(RateLimitLayer::disabled())
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(!res.headers().contains_key(RATELIMIT_LIMIT));

        let config =
            serde_json::from_value(json!({"enabled": true, "per_second": 0.1, "burst": 1}))
                .unwrap();
        let app = app(RateLimitLayer::new(&config));
        let first = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()[RATELIMIT_REMAINING], "0");
        assert_eq!(first.headers()[RATELIMIT_RESET], "10");
        let second = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(second.status(), 429);
        assert_eq!(
            second.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let retry: u64 = second.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((9..=10).contains(&retry), "{retry}");
        assert_eq!(second.headers()[RATELIMIT_LIMIT], "1");
    }
}
