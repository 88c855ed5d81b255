//! Forwarding the caller's own token downstream.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use futures_util::future::BoxFuture;
use http::HeaderValue;

use super::TokenSource;
use crate::BoxError;
use crate::auth::AuthError;

/// The verified `Authorization` header of the current request, to forward downstream.
///
/// The auth layer stores it after verification; as an extractor it is available in any
/// handler behind that layer. Its `Debug` output is redacted.
///
/// ```
/// use servicekit::auth::{PassThrough, TokenSource};
///
/// async fn handler(caller: PassThrough) {
///     let header = caller.authorization().await.unwrap();
///     assert!(header.is_sensitive());
/// }
/// ```
#[derive(Clone)]
pub struct PassThrough {
    value: HeaderValue,
}

impl PassThrough {
    /// Wraps an `Authorization` header value (marked sensitive).
    pub fn new(mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        Self { value }
    }

    /// The header value.
    pub fn header(&self) -> &HeaderValue {
        &self.value
    }
}

impl std::fmt::Debug for PassThrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassThrough(Sensitive)")
    }
}

impl TokenSource for PassThrough {
    fn authorization(&self) -> BoxFuture<'_, Result<HeaderValue, BoxError>> {
        Box::pin(std::future::ready(Ok(self.value.clone())))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PassThrough {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PassThrough>()
            .cloned()
            .ok_or(AuthError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_the_value_and_hides_it() {
        let source = PassThrough::new(HeaderValue::from_static("Bearer abc"));
        let value = source.authorization().await.unwrap();
        assert_eq!(value, "Bearer abc");
        assert!(value.is_sensitive());
        assert!(!format!("{source:?}").contains("abc"));
    }
}
