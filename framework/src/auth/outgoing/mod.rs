//! Tokens for outgoing calls: [`TokenSource`], OAuth2 client credentials with caching and
//! single-flight refresh ([`ClientCredentials`]), and the caller's own token
//! ([`PassThrough`]).

mod client_credentials;
mod pass_through;

pub use client_credentials::ClientCredentials;
pub use pass_through::PassThrough;

/// Supplies the `Authorization` header value for an outgoing request.
pub trait TokenSource: Send + Sync + 'static {
    /// The header value, e.g. `Bearer eyJ...`; implementations mark it sensitive.
    fn authorization(
        &self,
    ) -> futures_util::future::BoxFuture<'_, Result<http::HeaderValue, crate::BoxError>>;
}
