//! What a service's route function may return.

use axum::Router;

use crate::BoxError;

/// The return types a route function may have: `Router` or `Result<Router, E>`.
pub trait IntoRoutes {
    /// Converts into the routes or the reason there are none.
    fn into_routes(self) -> Result<Router, BoxError>;
}

impl IntoRoutes for Router {
    fn into_routes(self) -> Result<Router, BoxError> {
        Ok(self)
    }
}

impl<E: Into<BoxError>> IntoRoutes for Result<Router, E> {
    fn into_routes(self) -> Result<Router, BoxError> {
        self.map_err(Into::into)
    }
}
