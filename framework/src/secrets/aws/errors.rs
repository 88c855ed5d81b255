//! Secrets Manager errors as messages that name the AWS error code, the service's message and
//! the usual fix, and never a value.

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::secrets::{SecretError, SecretErrorKind, SecretRef};

const NAME: &str = "AWS Secrets Manager";

/// Converts an SDK error for `GetSecretValue` of `reference`.
pub(super) fn describe<R>(
    err: SdkError<GetSecretValueError, R>,
    reference: &SecretRef,
) -> SecretError
where
    R: std::fmt::Debug,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("unknown error");
            let text = e.message().unwrap_or("no message");
            let (kind, fix) = classify(code);
            (kind, format!("{code}: {text}{fix}"))
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => (
            SecretErrorKind::Unavailable,
            format!(
                "cannot reach Secrets Manager: {}; fix: check the network path, the region, and \
                 AWS_ENDPOINT_URL_SECRETS_MANAGER / secrets.aws.endpoint_url if set",
                DisplayErrorContext(&err)
            ),
        ),
        SdkError::ResponseError(_) => (
            SecretErrorKind::Unavailable,
            format!(
                "unreadable answer from Secrets Manager: {}",
                DisplayErrorContext(&err)
            ),
        ),
        _ => (
            SecretErrorKind::Other,
            format!(
                "{}; fix: set a region (AWS_REGION or secrets.aws.region) and credentials \
                 (the standard AWS chain: environment, profile, web identity, ECS task role, \
                 instance profile)",
                DisplayErrorContext(&err)
            ),
        ),
    };
    SecretError::new(kind, reference, NAME, message)
}

/// The kind and the usual fix for an AWS error code.
fn classify(code: &str) -> (SecretErrorKind, &'static str) {
    match code {
        "ResourceNotFoundException" => (
            SecretErrorKind::NotFound,
            "; fix: check the secret id, the region and the version stage or id",
        ),
        "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" => (
            SecretErrorKind::AccessDenied,
            "; fix: allow secretsmanager:GetSecretValue on this secret (and kms:Decrypt on its \
             key) for the service's role (docs/secrets.md has a policy)",
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId" => (
            SecretErrorKind::AccessDenied,
            "; fix: check the AWS credentials the service runs with",
        ),
        "InvalidRequestException" | "InvalidParameterException" => {
            (SecretErrorKind::InvalidReference, "")
        }
        _ => (SecretErrorKind::Other, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds_with_fixes() {
        let (kind, fix) = classify("ResourceNotFoundException");
        assert_eq!(kind, SecretErrorKind::NotFound);
        assert!(fix.contains("secret id"));
        assert_eq!(
            classify("AccessDeniedException").0,
            SecretErrorKind::AccessDenied
        );
        assert_eq!(classify("ThrottlingException").0, SecretErrorKind::Other);
    }
}
