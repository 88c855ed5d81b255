//! The stand-in for a built-in provider this build leaves out (`aws-sm` without the `aws`
//! feature): it claims the scheme so that a reference fails with the feature to enable, instead
//! of being taken for a literal value.

use super::{FetchFuture, SecretError, SecretErrorKind, SecretProvider, SecretRef};

/// Serves a scheme whose provider needs a cargo feature this build lacks; every fetch fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotCompiled {
    /// The reference scheme, e.g. `aws-sm`.
    pub(crate) scheme: &'static str,
    /// The provider's human name, e.g. `AWS Secrets Manager`.
    pub(crate) name: &'static str,
    /// The servicekit feature that compiles the provider, e.g. `aws`.
    pub(crate) feature: &'static str,
}

impl NotCompiled {
    /// The AWS Secrets Manager provider, without the `aws` feature.
    #[cfg_attr(feature = "aws", allow(dead_code))]
    pub(crate) const AWS: Self = Self {
        scheme: "aws-sm",
        name: "AWS Secrets Manager",
        feature: "aws",
    };
}

impl SecretProvider for NotCompiled {
    fn scheme(&self) -> &str {
        self.scheme
    }

    fn name(&self) -> &str {
        self.name
    }

    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a> {
        let purpose = format!("an `{}://` secret reference", self.scheme);
        let message = crate::features::needs(self.feature, &purpose);
        Box::pin(async move {
            Err(SecretError::new(
                SecretErrorKind::InvalidReference,
                reference,
                self.name,
                message,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{Secrets, SecretsConfig};

    #[tokio::test]
    async fn references_fail_naming_the_feature() {
        // Registered explicitly, so the test holds whether or not this build has `aws`.
        let secrets = Secrets::builder(SecretsConfig::default())
            .provider(NotCompiled::AWS)
            .build();
        assert!(secrets.is_reference("aws-sm://prod/db#password"));
        let err = secrets.get("aws-sm://prod/db#password").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::InvalidReference);
        let text = err.to_string();
        assert!(
            text.contains("secret `aws-sm://prod/db#password`"),
            "{text}"
        );
        assert!(text.contains("enable servicekit's `aws` feature"), "{text}");
    }
}
