//! The `aws-sm` provider: `GetSecretValue` with an optional version stage or id.

use aws_sdk_secretsmanager::Client;
use tokio::sync::OnceCell;

use super::AwsSecretsManagerBuilder;
use super::errors::describe;
use crate::secrets::{
    FetchFuture, Secret, SecretError, SecretErrorKind, SecretProvider, SecretRef, SecretValue,
};

const NAME: &str = "AWS Secrets Manager";
const STAGE: &str = "version-stage";
const VERSION: &str = "version-id";

/// Reads `aws-sm://<secret-id or ARN>[#json-key][?version-stage=..|version-id=..]`.
///
/// String secrets (`SecretString`) and binary secrets (`SecretBinary`) are both returned; the
/// version defaults to `AWSCURRENT`. `version-stage=AWSPREVIOUS` reads the version before the
/// last rotation.
///
/// ```no_run
/// # async fn f() -> Result<(), servicekit::secrets::SecretError> {
/// use servicekit::secrets::aws::AwsSecretsManager;
/// use servicekit::secrets::{SecretProvider, SecretRef};
///
/// let provider = AwsSecretsManager::from_env();
/// let reference = SecretRef::parse("aws-sm://prod/student-db#password").unwrap();
/// let password = provider.fetch(&reference).await?;
/// # let _ = password;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AwsSecretsManager {
    settings: AwsSecretsManagerBuilder,
    client: OnceCell<Client>,
}

impl AwsSecretsManager {
    /// Settings for a provider; see [`AwsSecretsManagerBuilder`].
    pub fn builder() -> AwsSecretsManagerBuilder {
        AwsSecretsManagerBuilder::default()
    }

    /// A provider configured entirely by the standard AWS chain.
    pub fn from_env() -> Self {
        Self::builder().build()
    }

    /// A provider using a client you configured.
    pub fn from_client(client: Client) -> Self {
        Self {
            settings: AwsSecretsManagerBuilder::default(),
            client: OnceCell::new_with(Some(client)),
        }
    }

    pub(super) fn from_builder(settings: AwsSecretsManagerBuilder) -> Self {
        Self {
            settings,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| self.settings.client()).await
    }
}

impl SecretProvider for AwsSecretsManager {
    fn scheme(&self) -> &str {
        "aws-sm"
    }

    fn name(&self) -> &str {
        NAME
    }

    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a> {
        Box::pin(async move {
            reference.only_params(NAME, &[STAGE, VERSION])?;
            let (stage, version) = (reference.param(STAGE), reference.param(VERSION));
            if stage.is_some() && version.is_some() {
                return Err(SecretError::new(
                    SecretErrorKind::InvalidReference,
                    reference,
                    NAME,
                    format!("give `{STAGE}` or `{VERSION}`, not both"),
                ));
            }
            let output = self
                .client()
                .await
                .get_secret_value()
                .secret_id(reference.location())
                .set_version_stage(stage.map(str::to_string))
                .set_version_id(version.map(str::to_string))
                .send()
                .await
                .map_err(|e| describe(e, reference))?;
            let version = output.version_id.clone();
            let value = match (output.secret_string, output.secret_binary) {
                (Some(text), _) => Secret::from(text),
                (None, Some(blob)) => Secret::from(blob.into_inner()),
                (None, None) => {
                    return Err(SecretError::new(
                        SecretErrorKind::InvalidValue,
                        reference,
                        NAME,
                        "the secret version has neither SecretString nor SecretBinary",
                    ));
                }
            };
            Ok(SecretValue { value, version })
        })
    }
}
