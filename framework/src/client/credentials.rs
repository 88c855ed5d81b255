//! The hook through which outgoing calls get a service token.
//!
//! The `auth` module's token sources (OAuth2 client credentials, ...) implement
//! [`TokenSource`]; attach one with
//! [`ServiceClient::with_token_source`](crate::client::ServiceClient::with_token_source).
//! A token source takes precedence over forwarding the caller's `Authorization`.

/// Supplies the `Authorization` header value for an outgoing request.
///
/// Implementations cache their token and refresh it before it expires: this is called once per
/// call (not per retry).
///
/// ```
/// use futures_util::future::BoxFuture;
/// use servicekit::client::TokenSource;
///
/// struct Fixed(http::HeaderValue);
///
/// impl TokenSource for Fixed {
///     fn authorization(&self) -> BoxFuture<'_, Result<http::HeaderValue, servicekit::BoxError>> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// The `Authorization` value to send, e.g. `Bearer eyJ...`.
    fn authorization(
        &self,
    ) -> futures_util::future::BoxFuture<'_, Result<http::HeaderValue, crate::BoxError>>;
}
