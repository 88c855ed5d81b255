//! Why a request was not let through, and the RFC 6750 response for each reason.
//!
//! Descriptions are fixed strings: they never echo the token, so they are safe in headers,
//! bodies and logs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::server::Problem;

/// A request that failed authentication (401), authorization (403) or could not be checked
/// yet (503). Converts into a problem+json response with `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("the request carries no bearer token")]
    Missing,
    /// More than one `Authorization` header: which credential counts would be a guess, so the
    /// request is refused (RFC 6750 §3.1 `invalid_request`).
    #[error("the request carries more than one Authorization header")]
    DuplicateAuthorization,
    /// An `Authorization` header with another scheme than `Bearer`.
    #[error("the Authorization header does not use the Bearer scheme")]
    WrongScheme,
    /// Longer than `auth.max_token_bytes`.
    #[error("the token is too large")]
    TooLarge,
    /// Not three base64url parts with a JSON header and payload.
    #[error("the token is malformed")]
    Malformed,
    /// The header's `alg` is not in `auth.algorithms` (this includes `none`).
    #[error("the token's signature algorithm is not accepted")]
    AlgorithmNotAllowed,
    /// The header's `typ` is neither `JWT` nor `at+jwt`.
    #[error("the token's type is not accepted")]
    WrongType,
    /// The `iss` claim names no configured issuer.
    #[error("the token's issuer is not trusted")]
    UntrustedIssuer,
    /// No key of the issuer has the token's `kid`, even after refetching the key set.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// The key with the token's `kid` is of another type than the token's `alg`.
    #[error("the token's algorithm does not match its signing key")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// No accepted audience in `aud` (or `client_id`).
    #[error("the token is not meant for this service")]
    WrongAudience,
    /// The `token_use` claim is not the configured one.
    #[error("the token's token_use is not accepted")]
    WrongTokenUse,
    /// A required claim is missing or has the wrong type.
    #[error("the token's claims are invalid")]
    InvalidClaims,
    /// The issuer's keys have never been loaded (its JWKS endpoint is unreachable).
    #[error("the issuer's signing keys are not available; retry shortly")]
    KeysUnavailable,
    /// The route needs a principal but the auth layer did not run before it.
    #[error("the request was not authenticated")]
    Unauthenticated,
    /// The token lacks a required scope.
    #[error("the token lacks the scope `{0}`")]
    InsufficientScope(String),
    /// The principal lacks a required role.
    #[error("the principal lacks the role `{0}`")]
    InsufficientRole(String),
}

impl AuthError {
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::DuplicateAuthorization => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) | Self::InsufficientRole(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 error code, if the response carries one. A request without credentials
    /// (or with another scheme) gets a bare challenge, as RFC 6750 §3.1 asks.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Missing | Self::WrongScheme | Self::Unauthenticated | Self::KeysUnavailable => {
                None
            }
            Self::InsufficientScope(_) | Self::InsufficientRole(_) => Some("insufficient_scope"),
            Self::DuplicateAuthorization => Some("invalid_request"),
            _ => Some("invalid_token"),
        }
    }

    /// The RFC 6750 `WWW-Authenticate` challenge for `realm`.
    pub fn challenge(&self, realm: &str) -> Option<HeaderValue> {
        let mut challenge = format!("Bearer realm=\"{}\"", quote_safe(realm));
        if let Some(code) = self.code() {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quote_safe(&self.to_string())
            ));
        }
        if let Self::InsufficientScope(scope) = &self {
            challenge.push_str(&format!(", scope=\"{}\"", quote_safe(scope)));
        }
        HeaderValue::from_str(&challenge).ok()
    }

    /// Builds the response with the `WWW-Authenticate` challenge for `realm`.
    pub fn into_response_for(self, realm: &str) -> Response {
        let mut problem = Problem::new(self.status()).with_detail(self.to_string());
        if let Some(value) = self.challenge(realm) {
            problem = problem.with_header(header::WWW_AUTHENTICATE, value);
        }
        if matches!(self, Self::KeysUnavailable) {
            problem = problem.with_header(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Self::InsufficientScope(scope) = &self {
            problem = problem.with_extension("scope", scope.clone());
        }
        problem.into_response()
    }
}

impl IntoResponse for AuthError {
    /// The response with the default realm; an [`AuthLayer`](super::AuthLayer) around the
    /// route replaces it with the service's realm on the way out (through a response extension), so
    /// 403s from `require_scope` and handler-level checks name the same realm as its 401s.
    fn into_response(self) -> Response {
        let mut response = self.clone().into_response_for(DEFAULT_REALM);
        response.extensions_mut().insert(Rechallenge(self));
        response
    }
}

/// Marks a response built without knowing the service's realm, so that the auth layer can
/// rewrite its `WWW-Authenticate` challenge with the configured one.
#[derive(Debug, Clone)]
pub(crate) struct Rechallenge(pub(crate) AuthError);

/// The realm named when none is configured.
pub(crate) const DEFAULT_REALM: &str = "servicekit";

/// Keeps a value printable inside a quoted-string: no quotes, backslashes or controls.
fn quote_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || !(' '..='~').contains(&c) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::UntrustedIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                Self::AlgorithmNotAllowed
            }
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                Self::InvalidClaims
            }
            ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey => Self::KeyMismatch,
            _ => Self::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn parts(err: AuthError) -> (StatusCode, String, serde_json::Value) {
        let res = err.into_response_for("students");
        let status = res.status();
        let challenge = res.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_string();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, challenge, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn missing_token_gets_a_bare_challenge() {
        let (status, challenge, body) = parts(AuthError::Missing).await;
        assert_eq!(status, 401);
        assert_eq!(challenge, "Bearer realm=\"students\"");
        assert_eq!(body["status"], 401);
    }

    #[tokio::test]
    async fn invalid_token_names_the_reason() {
        let (status, challenge, body) = parts(AuthError::Expired).await;
        assert_eq!(status, 401);
        assert_eq!(
            challenge,
            "Bearer realm=\"students\", error=\"invalid_token\", error_description=\"the token has expired\""
        );
        assert_eq!(body["detail"], "the token has expired");
    }

    #[tokio::test]
    async fn insufficient_scope_is_403_with_the_scope() {
        let (status, challenge, body) =
            parts(AuthError::InsufficientScope("students:write".into())).await;
        assert_eq!(status, 403);
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.ends_with("scope=\"students:write\""),
            "{challenge}"
        );
        assert_eq!(body["scope"], "students:write");
    }

    #[tokio::test]
    async fn duplicate_authorization_is_400_invalid_request() {
        let (status, challenge, body) = parts(AuthError::DuplicateAuthorization).await;
        assert_eq!(status, 400);
        assert!(
            challenge.starts_with("Bearer realm=\"students\", error=\"invalid_request\""),
            "{challenge}"
        );
        assert_eq!(body["status"], 400);
    }

    #[test]
    fn quoting_strips_unsafe_characters() {
        assert_eq!(quote_safe("a\"b\\c\nd"), "a_b_c_d");
    }
}
