use tower::Layer;

use super::Auth;
use crate::auth::Verifier;

/// Layer that authenticates requests with a [`Verifier`]; see [`Context::auth`](crate::Context::auth).
///
/// Apply it to the service's own routes so that probes stay public:
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use servicekit::auth::{Principal, require_scope};
///
/// async fn app(ctx: servicekit::Context) -> Router {
///     Router::new()
///         .route("/me", get(|p: Principal| async move { p.subject().unwrap_or("").to_string() }))
///         .route_layer(require_scope("profile:read"))
///         .layer(ctx.auth())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Option<Verifier>,
}

impl AuthLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Some(verifier),
        }
    }

    /// A layer that lets every request through unauthenticated (`[auth]` not configured);
    /// `require_scope` and `require_role` then pass too.
    pub fn disabled() -> Self {
        Self { verifier: None }
    }

    /// The verifier, unless the layer is disabled.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.verifier.as_ref()
    }

    /// Whether requests are verified.
    pub fn is_enabled(&self) -> bool {
        self.verifier.is_some()
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::new(inner, self.verifier.clone())
    }
}
