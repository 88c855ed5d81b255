//! Secrets: references in configuration, providers, a cache with refresh, and a value type
//! that never prints.
//!
//! Any string configuration value may be a reference, resolved when the configuration loads:
//!
//! | reference | provider |
//! |---|---|
//! | `env://NAME` | the environment variable `NAME` ([`EnvProvider`]) |
//! | `file:///run/secrets/db` | a mounted file, one trailing newline dropped ([`FileProvider`]) |
//! | `aws-sm://prod/student-db` | AWS Secrets Manager (`aws::AwsSecretsManager`, feature `aws`) |
//!
//! `#key` selects one field of a JSON secret (`aws-sm://prod/student-db#password`), and
//! `?version-stage=AWSPREVIOUS` or `?version-id=..` pick a Secrets Manager version.
//!
//! Values are cached and fetched again every `secrets.refresh_interval` (default 5 minutes); a
//! failed refresh keeps the last good value, logs a warning, counts
//! `servicekit_secret_refresh_failures_total{reference}` and turns the `secrets` readiness
//! check to `warn`, then to `fail` after `secrets.max_staleness`. Consumers that must follow
//! rotation subscribe with [`Secrets::subscribe`]; the database pool does so itself.
//!
//! [`docs/secrets.md`](https://github.com/servicekit/servicekit/blob/main/docs/secrets.md) covers local development, Kubernetes, ECS and IAM.

#[cfg(feature = "aws")]
pub mod aws;
mod check;
mod env;
mod error;
mod file;
pub(crate) mod json;
mod not_compiled;
mod provider;
mod reference;
mod refresh;
mod secret;
mod settings;
mod store;

pub use check::SecretsCheck;
pub use env::EnvProvider;
pub use error::{SecretError, SecretErrorKind};
pub use file::FileProvider;
pub use provider::{FetchFuture, SecretProvider, SecretValue};
pub use reference::SecretRef;
pub use refresh::RefreshTask;
pub use secret::{REDACTED, Secret};
pub(crate) use settings::validate;
pub use settings::{AwsConfig, SecretsConfig};
pub use store::{AGE_METRIC, REFRESH_FAILURES_METRIC, SecretStatus, Secrets, SecretsBuilder};
