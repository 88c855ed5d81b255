use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use tower::Service;

use super::Requirement;
use crate::auth::authenticate::AuthDisabled;
use crate::auth::{AuthError, Principal};

/// Service enforcing a [`Requirement`]; see [`RequireLayer`](super::RequireLayer).
#[derive(Debug, Clone)]
pub struct Require<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S> Require<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, requirement: Arc<Requirement>) -> Self {
        Self { inner, requirement }
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

impl<S, B> Service<Request<B>> for Require<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let extensions = req.extensions();
        let verdict = match extensions.get::<Principal>() {
            Some(principal) => self.requirement.check(principal),
            None if extensions.get::<AuthDisabled>().is_some() => Ok(()),
            None => Err(AuthError::Unauthenticated),
        };
        match verdict {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(e) => Either::Left(ready(Ok(e.into_response()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::authenticate::AuthDisabled;
    use crate::auth::{Principal, require_role, require_scope};
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn status(app: Router, principal: Option<Principal>, disabled: bool) -> u16 {
        let mut req = Request::get("/").body(Body::empty()).unwrap();
        if let Some(p) = principal {
            req.extensions_mut().insert(p);
        }
        if disabled {
            req.extensions_mut().insert(AuthDisabled);
        }
        app.oneshot(req).await.unwrap().status().as_u16()
    }

    fn app() -> Router {
        Router::new()
            .route("/", get(|| async { "ok" }))
            .route_layer(require_scope("students:write"))
            .route_layer(require_role("teachers"))
    }

    #[tokio::test]
    async fn scope_and_role_are_enforced() {
        let both = Principal::from_claims(
            serde_json::json!({"scope": "students:write", "groups": ["teachers"]}),
        );
        let scope_only = Principal::from_claims(serde_json::json!({"scope": "students:write"}));
        let role_only = Principal::from_claims(serde_json::json!({"groups": ["teachers"]}));
        assert_eq!(status(app(), Some(both), false).await, 200);
        assert_eq!(status(app(), Some(scope_only), false).await, 403);
        assert_eq!(status(app(), Some(role_only), false).await, 403);
    }

    #[tokio::test]
    async fn no_principal_is_401_unless_auth_is_disabled() {
        assert_eq!(status(app(), None, false).await, 401);
        assert_eq!(status(app(), None, true).await, 200);
    }
}
