//! `aws-sm://<secret-id>[#json-key][?version-stage=AWSPREVIOUS|version-id=<id>]`: AWS Secrets
//! Manager through `aws-sdk-secretsmanager`.
//!
//! Credentials and region come from the standard AWS chain (environment, shared config files,
//! web identity on EKS, the ECS task role, EC2 instance profiles); the endpoint can be moved
//! with `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or `AWS_ENDPOINT_URL`), which the SDK reads itself,
//! or with `secrets.aws.endpoint_url`.

mod client;
mod errors;
mod provider;

/// The AWS SDK for Secrets Manager, for [`AwsSecretsManager::from_client`] and tests.
pub use aws_sdk_secretsmanager as sdk;
pub use client::AwsSecretsManagerBuilder;
pub use provider::AwsSecretsManager;
