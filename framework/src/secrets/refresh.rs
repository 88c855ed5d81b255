//! The background task that refreshes every cached secret each `secrets.refresh_interval`.

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::Secrets;

/// The running refresh task; dropping it stops the task.
#[derive(Debug)]
pub struct RefreshTask {
    handle: JoinHandle<()>,
}

impl Drop for RefreshTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl Secrets {
    /// Spawns a task that calls [`Secrets::refresh_all`] every `secrets.refresh_interval`,
    /// until the returned [`RefreshTask`] is dropped. The service does this at startup.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use servicekit::secrets::{Secrets, SecretsConfig};
    ///
    /// let secrets = Secrets::builder(SecretsConfig::default()).build();
    /// let task = secrets.spawn_refresh();
    /// drop(task); // stops refreshing
    /// # }
    /// ```
    pub fn spawn_refresh(&self) -> RefreshTask {
        let secrets = self.clone();
        let period = self.config().refresh_interval;
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let failures = secrets.refresh_all().await;
                tracing::debug!(failures, "secrets refreshed");
            }
        });
        RefreshTask { handle }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::secrets::{EnvProvider, Secrets, SecretsConfig};

    #[tokio::test(start_paused = true)]
    async fn refreshes_until_dropped() {
        let config = SecretsConfig {
            refresh_interval: Duration::from_secs(60),
            ..SecretsConfig::default()
        };
        let secrets = Secrets::builder(config)
            .provider(EnvProvider::from_vars([("A", "1")]))
            .build();
        secrets.get("env://A").await.unwrap();
        let task = secrets.spawn_refresh();
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(
            secrets.status()[0].age < Duration::from_secs(60),
            "refreshed"
        );
        drop(task);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(
            secrets.status()[0].age >= Duration::from_secs(500),
            "stopped"
        );
    }
}
