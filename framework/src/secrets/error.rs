//! Why a secret could not be read: the reference, the provider and the provider's own message.

use std::fmt;

/// The broad cause of a [`SecretError`], for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretErrorKind {
    /// The reference is malformed or names no known provider.
    InvalidReference,
    /// The secret (or the JSON key selected in it) does not exist.
    NotFound,
    /// The provider refused access (permissions, credentials, decryption key).
    AccessDenied,
    /// The provider could not be reached or did not answer in time.
    Unavailable,
    /// The secret exists but its value cannot be used (not JSON, not text, empty).
    InvalidValue,
    /// Anything else the provider reported.
    Other,
}

/// A secret could not be read. The message names the reference and the provider and carries
/// the provider's own explanation; it never contains a secret value.
///
/// ```
/// use servicekit::secrets::{SecretError, SecretErrorKind};
///
/// let err = SecretError::new(
///     SecretErrorKind::NotFound,
///     "env://DB_PASSWORD",
///     "environment",
///     "the environment variable `DB_PASSWORD` is not set",
/// );
/// assert_eq!(
///     err.to_string(),
///     "secret `env://DB_PASSWORD` (environment provider): the environment variable `DB_PASSWORD` is not set"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SecretError {
    kind: SecretErrorKind,
    reference: String,
    provider: String,
    message: String,
}

impl SecretError {
    /// An error about `reference`, reported by the provider called `provider`.
    pub fn new(
        kind: SecretErrorKind,
        reference: impl fmt::Display,
        provider: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            reference: reference.to_string(),
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// The broad cause.
    pub fn kind(&self) -> SecretErrorKind {
        self.kind
    }

    /// The reference, e.g. `aws-sm://prod/student-db#password`.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The provider's name, e.g. `AWS Secrets Manager`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The explanation, without the reference and provider.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "secret `{}` ({} provider): {}",
            self.reference, self.provider, self.message
        )
    }
}
