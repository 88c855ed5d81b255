//! `env://NAME`: a secret from an environment variable.

use std::collections::BTreeMap;

use super::{FetchFuture, SecretError, SecretErrorKind, SecretProvider, SecretRef, SecretValue};

/// Reads `env://NAME` from the process environment (or from a fixed set of variables).
///
/// ```
/// # async fn f() {
/// use servicekit::secrets::{EnvProvider, SecretProvider, SecretRef};
///
/// let provider = EnvProvider::from_vars([("DB_PASSWORD", "hunter2")]);
/// let reference = SecretRef::parse("env://DB_PASSWORD").unwrap();
/// let value = provider.fetch(&reference).await.unwrap();
/// assert_eq!(value.value.expose_str(), Some("hunter2"));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct EnvProvider {
    vars: Option<BTreeMap<String, String>>,
}

impl EnvProvider {
    /// Reads the process environment at each fetch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads only `vars` (for tests: the process environment is left alone).
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    fn read(&self, name: &str) -> Result<Option<String>, std::env::VarError> {
        match &self.vars {
            Some(vars) => Ok(vars.get(name).cloned()),
            None => match std::env::var(name) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}

impl SecretProvider for EnvProvider {
    fn scheme(&self) -> &str {
        "env"
    }

    fn name(&self) -> &str {
        "environment"
    }

    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a> {
        Box::pin(async move {
            reference.only_params(self.name(), &[])?;
            let name = reference.location();
            let fail =
                |kind, message: String| SecretError::new(kind, reference, "environment", message);
            match self.read(name) {
                Ok(Some(value)) => Ok(SecretValue::new(value)),
                Ok(None) => Err(fail(
                    SecretErrorKind::NotFound,
                    format!("the environment variable `{name}` is not set"),
                )),
                Err(_) => Err(fail(
                    SecretErrorKind::InvalidValue,
                    format!("the environment variable `{name}` is not valid Unicode"),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_variable_is_named() {
        let provider = EnvProvider::from_vars([("A", "1")]);
        let err = provider
            .fetch(&SecretRef::parse("env://B").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "secret `env://B` (environment provider): the environment variable `B` is not set"
        );
    }

    #[tokio::test]
    async fn reads_the_process_environment() {
        // PATH is set in every test environment; reading it proves the process lookup works.
        let value = EnvProvider::new()
            .fetch(&SecretRef::parse("env://PATH").unwrap())
            .await
            .unwrap();
        assert_eq!(
            value.value.expose_str(),
            std::env::var("PATH").ok().as_deref()
        );
    }
}
