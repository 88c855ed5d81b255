//! The `SecretProvider` trait: one implementation per reference scheme.

use futures_util::future::BoxFuture;

use super::{Secret, SecretError, SecretRef};

/// A secret as a provider returned it, with the provider's version id if it has versions.
#[derive(Debug, Clone)]
pub struct SecretValue {
    /// The whole secret (a JSON key in the reference is applied by the caller).
    pub value: Secret,
    /// The provider's version id (Secrets Manager's `VersionId`), if any.
    pub version: Option<String>,
}

impl SecretValue {
    /// A value without a version id.
    pub fn new(value: impl Into<Secret>) -> Self {
        Self {
            value: value.into(),
            version: None,
        }
    }
}

/// The future a [`SecretProvider`] returns.
pub type FetchFuture<'a> = BoxFuture<'a, Result<SecretValue, SecretError>>;

/// Reads secrets for one reference scheme (`env`, `file`, `aws-sm`, or one of your own).
///
/// Providers return the whole secret; the `#key` of a reference is applied afterwards by
/// [`Secrets`](super::Secrets), so every provider supports JSON keys. Errors name the reference
/// and the provider and must never contain a value.
///
/// ```
/// use servicekit::secrets::{FetchFuture, SecretProvider, SecretRef, SecretValue};
///
/// /// `static://anything` always yields the same value (a test double).
/// struct Static(&'static str);
///
/// impl SecretProvider for Static {
///     fn scheme(&self) -> &str { "static" }
///     fn name(&self) -> &str { "static" }
///     fn fetch<'a>(&'a self, _reference: &'a SecretRef) -> FetchFuture<'a> {
///         Box::pin(async move { Ok(SecretValue::new(self.0)) })
///     }
/// }
/// ```
pub trait SecretProvider: Send + Sync + 'static {
    /// The scheme this provider serves, without `://` (e.g. `aws-sm`).
    fn scheme(&self) -> &str;
    /// A human name for errors and logs (e.g. `AWS Secrets Manager`).
    fn name(&self) -> &str;
    /// Reads the secret `reference` points at.
    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a>;
}
