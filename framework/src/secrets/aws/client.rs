//! Building the Secrets Manager client: the standard AWS chain, or explicit settings.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Credentials;

use super::AwsSecretsManager;

/// Settings for [`AwsSecretsManager`]; anything left unset comes from the standard AWS chain.
///
/// ```
/// use servicekit::secrets::aws::AwsSecretsManager;
///
/// // A local emulator with dummy credentials (nothing is read from the environment):
/// let provider = AwsSecretsManager::builder()
///     .region("us-east-1")
///     .endpoint_url("http://127.0.0.1:5000")
///     .static_credentials("testing", "testing")
///     .build();
/// # let _ = provider;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct AwsSecretsManagerBuilder {
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) credentials: Option<Credentials>,
}

impl AwsSecretsManagerBuilder {
    /// The region (default: `AWS_REGION`, the profile, or instance metadata).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint (default: `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL`, or AWS).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Fixed credentials, for emulators and tests (default: the standard credential chain).
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "servicekit-static",
        ));
        self
    }

    /// The provider; the client is created on the first fetch, so a service that references
    /// no `aws-sm://` secret never reads AWS configuration.
    pub fn build(self) -> AwsSecretsManager {
        AwsSecretsManager::from_builder(self)
    }

    /// Builds the SDK client from these settings.
    pub(super) async fn client(&self) -> Client {
        // With a region and fixed credentials everything is explicit: read nothing from the
        // environment.
        let isolated = self.region.is_some() && self.credentials.is_some();
        let mut loader = crate::aws_sdk::loader(self.region.as_deref(), isolated);
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let shared = loader.load().await;
        // `From<&SdkConfig>` applies AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL.
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&shared);
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        Client::from_conf(config.build())
    }
}
