//! SNS / SQS errors as [`TransportError`]s: an outage (no answer, throttling, a 5xx) is
//! `Unavailable`, an answer that refuses the call is `Refused`; messages name the operation,
//! the AWS error code and the usual fix, and never a credential.

use std::time::Duration;

use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::events::transport::TransportError;

/// The AWS error code that says a topic or queue is gone (the adapter then recreates it).
pub(super) fn is_missing<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err.code(),
        Some(
            "NotFound"
                | "NotFoundException"
                | "AWS.SimpleQueueService.NonExistentQueue"
                | "QueueDoesNotExist"
        )
    )
}

/// Converts an SDK error of `operation` (`SNS Publish`, `SQS ReceiveMessage`, ...).
pub(super) fn describe<E, R>(operation: &str, err: SdkError<E, R>) -> TransportError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let context = DisplayErrorContext(&err);
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            TransportError::Unavailable(
                format!(
                    "{operation}: cannot reach AWS: {context}; fix: check the network path, the \
                     region, the credentials (the standard AWS chain: environment, profile, web \
                     identity, ECS task role, instance profile), and AWS_ENDPOINT_URL_SNS / \
                     AWS_ENDPOINT_URL_SQS / events.aws.endpoint_url if set"
                )
                .into(),
            )
        }
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("unknown error");
            if outage(code) {
                TransportError::Unavailable(format!("{operation}: {code}: {context}").into())
            } else {
                TransportError::Refused(format!("{operation}: {context}{}", fix(code)).into())
            }
        }
        _ => TransportError::Refused(
            format!(
                "{operation}: {context}; fix: set a region (AWS_REGION or events.aws.region) and \
                 credentials (the standard AWS chain: environment, profile, web identity, ECS \
                 task role, instance profile)"
            )
            .into(),
        ),
    }
}

/// No answer within `timeout`.
pub(super) fn timed_out(operation: &str, timeout: Duration) -> TransportError {
    TransportError::Unavailable(
        format!(
            "{operation}: no answer within {} (events.timeout)",
            humantime::format_duration(timeout)
        )
        .into(),
    )
}

/// Codes that mean "try again later" rather than "this call is wrong".
fn outage(code: &str) -> bool {
    code.contains("Throttl")
        || matches!(
            code,
            "InternalError"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "KMSThrottlingException"
                | "RequestThrottled"
                | "AWS.SimpleQueueService.ServiceUnavailable"
        )
}

/// The usual fix for a refusal.
fn fix(code: &str) -> &'static str {
    match code {
        "AuthorizationError" | "AccessDenied" | "AccessDeniedException" => {
            "; fix: allow the SNS / SQS actions listed in docs/deployment.md (section \"Events on \
             SNS + SQS\") for the service's role"
        }
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException" => "; fix: check the AWS credentials the service runs with",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_outages() {
        assert!(outage("ThrottlingException"));
        assert!(outage("Throttled"));
        assert!(outage("InternalError"));
        assert!(!outage("AuthorizationError"));
        assert!(fix("AuthorizationError").contains("docs/deployment.md"));
        assert_eq!(fix("InvalidParameter"), "");
    }
}
