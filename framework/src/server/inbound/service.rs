use std::task::{Context, Poll};

use axum::http::Request;
use tower::Service;

use super::Inbound;
use crate::server::scope::{Part, Scoped};

/// Service that runs each request with its [`Inbound`] context in a task-local; see
/// [`SetInboundLayer`](super::SetInboundLayer).
#[derive(Debug, Clone)]
pub struct SetInbound<S> {
    inner: S,
}

impl<S> SetInbound<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
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

impl<S, B> Service<Request<B>> for SetInbound<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Scoped<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inbound = Inbound::from_request(req.headers(), req.extensions());
        // Keeps the budget of a deadline layer outside.
        Part::Inbound(inbound).run(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use crate::server::deadline::budget::Budget;
    use crate::server::{Inbound, RequestDeadlineLayer, SetInboundLayer};

    async fn both_set() -> &'static str {
        let inbound = Inbound::current().expect("the inbound layer's context");
        assert_eq!(inbound.request_id().unwrap(), "abc");
        assert!(inbound.deadline().is_some(), "the deadline layer's budget");
        assert!(Budget::current().is_some());
        "ok"
    }

    #[tokio::test]
    async fn the_inbound_and_deadline_layers_each_keep_what_the_other_set() {
        let inside = Router::new()
            .route("/", get(both_set))
            .layer(SetInboundLayer::new())
            .layer(RequestDeadlineLayer::new(Duration::from_secs(5)));
        let outside = Router::new()
            .route("/", get(both_set))
            .layer(RequestDeadlineLayer::new(Duration::from_secs(5)))
            .layer(SetInboundLayer::new());
        for app in [inside, outside] {
            let req = Request::get("/")
                .header("x-request-id", "abc")
                .body(Body::empty())
                .unwrap();
            assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
        }
    }
}
