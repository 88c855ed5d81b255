//! Why a call through a [`ServiceClient`](super::ServiceClient) failed, and the problem a
//! handler answers with when it returns that error with `?`.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};

use super::breaker::CircuitOpen;
use super::bulkhead::BulkheadFull;
use super::time_limit::TimeLimitError;
use super::transport::TransportError;
use crate::BoxError;
use crate::server::Problem;

/// A call to a downstream failed. Each variant names the downstream (`client`).
///
/// Returned from a handler, it becomes a problem+json answer: an unavailable downstream (open
/// breaker, full bulkhead, timeout, connection failure, 5xx) is a `503` with `Retry-After`, an
/// unexpected answer a `502`, a fault of our own a logged, opaque `500`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The circuit breaker is open; the call was not sent.
    #[error("{client}: {source}")]
    CircuitOpen {
        /// The downstream.
        client: String,
        /// Cooldown left.
        source: CircuitOpen,
    },
    /// Too many calls to this downstream are in flight; the call was not sent.
    #[error("{client}: {source}")]
    BulkheadFull {
        /// The downstream.
        client: String,
        /// The limit.
        source: BulkheadFull,
    },
    /// The last attempt timed out.
    #[error("{client}: {source}")]
    Timeout {
        /// The downstream.
        client: String,
        /// The timeout ([`TimeLimitError::AttemptTimedOut`]).
        source: TimeLimitError,
    },
    /// The call's deadline passed.
    #[error("{client}: {source}")]
    DeadlineExceeded {
        /// The downstream.
        client: String,
        /// [`TimeLimitError::DeadlineExceeded`].
        source: TimeLimitError,
    },
    /// The request could not be sent or the answer not read.
    #[error("{client}: {source}")]
    Transport {
        /// The downstream.
        client: String,
        /// What failed.
        source: TransportError,
    },
    /// The answer's body was larger than `clients.<client>.max_response_bytes`; it was not
    /// read further (and the call not retried).
    #[error(
        "{client}: the answer's body is larger than clients.{client}.max_response_bytes \
         ({limit} bytes); raise that key if such answers are expected"
    )]
    ResponseTooLarge {
        /// The downstream.
        client: String,
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The downstream answered with an error status ([`ClientResponse::error_for_status`]).
    ///
    /// [`ClientResponse::error_for_status`]: super::ClientResponse::error_for_status
    #[error("{client} answered {status}")]
    Status {
        /// The downstream.
        client: String,
        /// Its answer's status.
        status: StatusCode,
    },
    /// The answer's body was not the expected JSON.
    #[error("{client}: unexpected answer body: {source}")]
    Decode {
        /// The downstream.
        client: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The token source failed to supply a token.
    #[error("{client}: no token for the call: {source}")]
    Token {
        /// The downstream.
        client: String,
        /// The token source's error.
        source: BoxError,
    },
    /// The request could not be built (bad path, header or body).
    #[error("{client}: invalid request: {source}")]
    InvalidRequest {
        /// The downstream.
        client: String,
        /// What is wrong.
        source: BoxError,
    },
}

impl ClientError {
    /// Classifies an error from the middleware stack.
    pub(crate) fn from_stack(client: &str, error: BoxError) -> Self {
        let client = client.to_string();
        let error = match error.downcast::<CircuitOpen>() {
            Ok(e) => return Self::CircuitOpen { client, source: *e },
            Err(e) => e,
        };
        let error = match error.downcast::<BulkheadFull>() {
            Ok(e) => return Self::BulkheadFull { client, source: *e },
            Err(e) => e,
        };
        let error = match error.downcast::<TimeLimitError>() {
            Ok(e) => {
                return match *e {
                    TimeLimitError::AttemptTimedOut { .. } => Self::Timeout { client, source: *e },
                    _ => Self::DeadlineExceeded { client, source: *e },
                };
            }
            Err(e) => e,
        };
        match error.downcast::<TransportError>() {
            Ok(e) => match e.too_large_limit() {
                Some(limit) => Self::ResponseTooLarge { client, limit },
                None => Self::Transport { client, source: *e },
            },
            Err(e) => Self::InvalidRequest { client, source: e },
        }
    }

    /// The `outcome` label of the call metric.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Self::CircuitOpen { .. } => "circuit_open",
            Self::BulkheadFull { .. } => "bulkhead_full",
            Self::Timeout { .. } => "timeout",
            Self::DeadlineExceeded { .. } => "deadline",
            Self::Transport { source, .. } if source.is_connect() => "connect",
            Self::Transport { .. } => "transport",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::Status { .. } => "status",
            Self::Decode { .. } => "decode",
            Self::Token { .. } => "token",
            Self::InvalidRequest { .. } => "invalid_request",
        }
    }

    /// The downstream's name.
    pub fn client(&self) -> &str {
        match self {
            Self::CircuitOpen { client, .. }
            | Self::BulkheadFull { client, .. }
            | Self::Timeout { client, .. }
            | Self::DeadlineExceeded { client, .. }
            | Self::Transport { client, .. }
            | Self::ResponseTooLarge { client, .. }
            | Self::Status { client, .. }
            | Self::Decode { client, .. }
            | Self::Token { client, .. }
            | Self::InvalidRequest { client, .. } => client,
        }
    }

    /// Whether the downstream is unavailable (the `503` cases).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::CircuitOpen { .. }
            | Self::BulkheadFull { .. }
            | Self::Timeout { .. }
            | Self::DeadlineExceeded { .. }
            | Self::Transport { .. } => true,
            Self::Status { status, .. } => status.is_server_error(),
            _ => false,
        }
    }
}

/// Whole seconds for `Retry-After`, at least 1.
fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

impl From<ClientError> for Problem {
    fn from(error: ClientError) -> Self {
        let client = error.client().to_string();
        let unavailable = |why: &str, wait: Duration| {
            tracing::warn!(client = %client, error = %error, "downstream unavailable");
            Problem::unavailable(format!("{client} is unavailable ({why}); retry later."))
                .with_header(header::RETRY_AFTER, retry_after(wait))
        };
        match &error {
            ClientError::CircuitOpen { source, .. } => {
                unavailable("circuit breaker open", source.remaining())
            }
            ClientError::BulkheadFull { .. } => {
                unavailable("too many calls in flight", Duration::from_secs(1))
            }
            ClientError::Timeout { .. } | ClientError::DeadlineExceeded { .. } => {
                unavailable("no answer in time", Duration::from_secs(1))
            }
            ClientError::Transport { .. } => {
                unavailable("cannot be reached", Duration::from_secs(1))
            }
            ClientError::Status { status, .. } if status.is_server_error() => unavailable(
                &format!("answered {}", status.as_u16()),
                Duration::from_secs(1),
            ),
            ClientError::Status { status, .. } => {
                tracing::warn!(client = %client, %status, "unexpected answer from downstream");
                Problem::new(StatusCode::BAD_GATEWAY).with_detail(format!(
                    "{client} answered an unexpected {}.",
                    status.as_u16()
                ))
            }
            ClientError::ResponseTooLarge { .. } => {
                tracing::warn!(client = %client, error = %error, "answer too large");
                Problem::new(StatusCode::BAD_GATEWAY)
                    .with_detail(format!("{client} sent an answer larger than allowed."))
            }
            ClientError::Decode { .. } => {
                tracing::warn!(client = %client, error = %error, "unexpected answer body");
                Problem::new(StatusCode::BAD_GATEWAY)
                    .with_detail(format!("{client} sent an answer that could not be read."))
            }
            ClientError::Token { .. } | ClientError::InvalidRequest { .. } => {
                Problem::internal(&error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_breaker_is_503_with_retry_after_the_cooldown() {
        let error = ClientError::from_stack(
            "students",
            CircuitOpen::new(Duration::from_millis(2_300)).into(),
        );
        assert_eq!(error.outcome(), "circuit_open");
        let problem = Problem::from(error);
        assert_eq!(problem.status(), StatusCode::SERVICE_UNAVAILABLE);
        let res = axum::response::IntoResponse::into_response(problem);
        assert_eq!(res.headers()[header::RETRY_AFTER], "3");
    }

    #[test]
    fn unexpected_4xx_is_502_and_unknown_errors_are_500() {
        let p = Problem::from(ClientError::Status {
            client: "x".into(),
            status: StatusCode::FORBIDDEN,
        });
        assert_eq!(p.status(), StatusCode::BAD_GATEWAY);
        let e = ClientError::from_stack("x", "odd".into());
        assert_eq!(Problem::from(e).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
