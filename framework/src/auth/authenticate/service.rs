use std::task::{Context, Poll};

use axum::http::{HeaderMap, HeaderValue, Request, header};
use axum::response::Response;
use futures_util::future::BoxFuture;
use tower::Service;

use super::AuthDisabled;
use crate::auth::error::Rechallenge;
use crate::auth::{AuthError, PassThrough, Verifier};
use crate::server::budget::Budget;
use crate::server::expired_before_start;

/// Service that authenticates requests before calling the inner service; see
/// [`AuthLayer`](super::AuthLayer).
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    verifier: Option<Verifier>,
}

impl<S> Auth<S> {
    /// Wraps `inner`; `None` lets every request through unauthenticated.
    pub fn new(inner: S, verifier: Option<Verifier>) -> Self {
        Self { inner, verifier }
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

impl<S, B> Service<Request<B>> for Auth<S>
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The clone that was driven to readiness handles this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(verifier) = self.verifier.clone() else {
            req.extensions_mut().insert(AuthDisabled);
            return Box::pin(inner.call(req));
        };
        Box::pin(async move {
            let value = match authorization(req.headers()) {
                Ok(value) => value,
                Err(e) => return Ok(reject(e, &verifier)),
            };
            let result = match bearer_token(&value) {
                Ok(token) => verifier.verify(token).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(principal) => {
                    if principal.is_service()
                        && let Some(budget) = Budget::current()
                    {
                        // The caller proved to be a service: its deadline now counts.
                        match budget.trust_caller() {
                            Ok(Some(deadline)) => {
                                req.extensions_mut().insert(deadline);
                            }
                            Ok(None) => {}
                            Err(_) => return Ok(expired_before_start()),
                        }
                    }
                    req.extensions_mut().insert(principal);
                    req.extensions_mut().insert(PassThrough::new(value));
                    let mut response = inner.call(req).await?;
                    with_realm(&mut response, verifier.realm());
                    Ok(response)
                }
                Err(e) => Ok(reject(e, &verifier)),
            }
        })
    }
}

fn reject(error: AuthError, verifier: &Verifier) -> Response {
    tracing::debug!(reason = %error, "request rejected by auth");
    error.into_response_for(verifier.realm())
}

/// Gives an auth error answered further in (`require_scope`, a handler's
/// `principal.require_scope(..)?`) the service's realm instead of the default one.
fn with_realm(response: &mut Response, realm: &str) {
    if let Some(Rechallenge(error)) = response.extensions_mut().remove::<Rechallenge>()
        && let Some(challenge) = error.challenge(realm)
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
}

/// The one `Authorization` header (cheap to clone: its bytes are shared); two or more are
/// refused rather than letting the first one win.
fn authorization(headers: &HeaderMap) -> Result<HeaderValue, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next().cloned().ok_or(AuthError::Missing)?;
    if values.next().is_some() {
        return Err(AuthError::DuplicateAuthorization);
    }
    Ok(first)
}

/// The token of a `Bearer` credential (the scheme is case-insensitive, RFC 7235 §2.1).
pub(crate) fn bearer_token(value: &HeaderValue) -> Result<&str, AuthError> {
    let text = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthError::WrongScheme)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::WrongScheme);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthConfig, AuthLayer, Principal};
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
    use tower::ServiceExt;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    async fn app() -> Router {
        let config: AuthConfig = serde_json::from_value(serde_json::json!({
            "algorithms": ["HS256"], "realm": "test",
            "issuers": [{"issuer": "iss", "audiences": ["api"], "hs_secret": SECRET}]
        }))
        .unwrap();
        let verifier = Verifier::new(&config).await.unwrap();
        Router::new()
            .route(
                "/",
                get(|p: Principal| async move { p.subject().unwrap_or_default().to_string() }),
            )
            .layer(verifier.layer())
    }

    fn token() -> String {
        let claims = serde_json::json!({"iss": "iss", "aud": "api", "sub": "ada",
            "exp": get_current_timestamp() + 60});
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    async fn call(app: Router, authorization: Option<String>) -> Response {
        let mut req = Request::get("/");
        if let Some(value) = authorization {
            req = req.header(header::AUTHORIZATION, value);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn valid_tokens_reach_the_handler() {
        let res = call(app().await, Some(format!("bearer {}", token()))).await;
        assert_eq!(res.status(), 200);
        let body = axum::body::to_bytes(res.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"ada");
    }

    #[tokio::test]
    async fn missing_and_foreign_schemes_get_bare_challenges() {
        for value in [None, Some("Basic dXNlcjpwYXNz".to_string())] {
            let res = call(app().await, value).await;
            assert_eq!(res.status(), 401);
            assert_eq!(
                res.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"test\""
            );
        }
    }

    #[tokio::test]
    async fn disabled_layers_pass_requests_through() {
        let app = Router::new()
            .route("/", get(|| async { "open" }))
            .layer(AuthLayer::disabled());
        assert_eq!(call(app, None).await.status(), 200);
    }

    #[test]
    fn bearer_parsing() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(bearer_token(&v("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&v("BEARER  abc ")).unwrap(), "abc");
        assert_eq!(
            bearer_token(&v("Bearer")).unwrap_err(),
            AuthError::WrongScheme
        );
        assert_eq!(
            bearer_token(&v("Bearer ")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            bearer_token(&v("Token abc")).unwrap_err(),
            AuthError::WrongScheme
        );
    }
}
