//! The `secrets` readiness check: `warn` while refreshes fail, `fail` once the last good value
//! is older than `secrets.max_staleness`.

use crate::health::{CheckFuture, HealthCheck};

use super::Secrets;
use super::store::round_secs;

/// The readiness check for [`Secrets`]; see [`Secrets::health_check`].
#[derive(Debug, Clone)]
pub struct SecretsCheck {
    secrets: Secrets,
}

impl Secrets {
    /// A readiness check named `secrets`: passes while every refresh succeeds, reports `warn`
    /// (still ready) while a secret cannot be refreshed and its last good value is in use, and
    /// `fail` (not ready) once that value is older than `secrets.max_staleness`.
    ///
    /// The service registers it when its configuration references secrets.
    pub fn health_check(&self) -> SecretsCheck {
        SecretsCheck {
            secrets: self.clone(),
        }
    }
}

impl HealthCheck for SecretsCheck {
    fn name(&self) -> &str {
        "secrets"
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let max = self.secrets.config().max_staleness;
            let failing: Vec<String> = self
                .secrets
                .status()
                .into_iter()
                .filter(|s| s.error.is_some())
                .map(|s| {
                    format!(
                        "{} (value {} old, limit {})",
                        s.reference,
                        humantime::format_duration(round_secs(s.age)),
                        humantime::format_duration(max)
                    )
                })
                .collect();
            if failing.is_empty() {
                Ok(())
            } else {
                Err(format!("refresh failing: {}", failing.join("; ")))
            }
        })
    }

    /// Required (a failure makes the service unready) only once a failing secret's value is
    /// older than `secrets.max_staleness`; before that a failure reports `warn`.
    fn required(&self) -> bool {
        let max = self.secrets.config().max_staleness;
        self.secrets
            .status()
            .iter()
            .any(|s| s.error.is_some() && s.age > max)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::health::{Health, Status};
    use crate::secrets::{FileProvider, SecretsConfig};

    #[tokio::test]
    async fn passes_then_warns_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t").unwrap();
        let config = SecretsConfig {
            refresh_interval: Duration::from_millis(1),
            max_staleness: Duration::from_millis(1),
            ..SecretsConfig::default()
        };
        let secrets = Secrets::builder(config).provider(FileProvider).build();
        let reference = format!("file://{}", path.display());
        secrets.get(&reference).await.unwrap();
        let health = Health::new(Duration::from_secs(1));
        health.register(secrets.health_check());
        let report = health.run_checks().await;
        assert_eq!(report.status(), Status::Pass);

        std::fs::remove_file(&path).unwrap();
        assert_eq!(secrets.refresh_all().await, 1);
        let check = secrets.health_check();
        let output = check.check().await.unwrap_err();
        assert!(output.contains(&reference), "{output}");
        // The value was fetched more than 1ms ago: past max_staleness, so the check is required.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(check.required());
        assert_eq!(health.run_checks().await.status(), Status::Fail);
    }

    #[tokio::test]
    async fn a_failing_refresh_within_the_staleness_limit_warns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t").unwrap();
        let secrets = Secrets::builder(SecretsConfig::default()).build();
        let reference = format!("file://{}", path.display());
        secrets.get(&reference).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(secrets.refresh_all().await, 1);
        let health = Health::new(Duration::from_secs(1));
        health.register(secrets.health_check());
        assert_eq!(health.run_checks().await.status(), Status::Warn);
    }
}
