//! Following the database secrets: when a secret behind `database.url`, `database.password`
//! or `database.secret` changes, or the database refuses the credentials, the pool rotates.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::DatabaseConfig;
use super::{Backend, Database, configured_url};
use crate::secrets::{Secret, Secrets};

/// Shortest time between two fetches forced by refused credentials. A refusal within it is
/// not dropped: the fetch waits until this has passed.
const REFUSED_DEBOUNCE: Duration = Duration::from_secs(1);
/// First wait before new credentials that the database refused are tried again.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The secret references behind the database keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DbSecretRefs {
    url: Option<String>,
    password: Option<String>,
    secret: Option<String>,
}

impl DbSecretRefs {
    /// The references among `refs` (configuration key to reference).
    pub(crate) fn from_keys(refs: &BTreeMap<String, String>) -> Self {
        Self {
            url: refs.get("database.url").cloned(),
            password: refs.get("database.password").cloned(),
            secret: refs.get("database.secret").cloned(),
        }
    }

    /// Whether no database key is a secret reference.
    pub(crate) fn is_empty(&self) -> bool {
        self.all().next().is_none()
    }

    fn all(&self) -> impl Iterator<Item = &str> {
        [&self.url, &self.password, &self.secret]
            .into_iter()
            .filter_map(|r| r.as_deref())
    }
}

/// Spawns the task that keeps `db` on the current credentials; abort it to stop.
pub(crate) fn follow_secrets<DB: Backend>(
    db: Database<DB>,
    config: DatabaseConfig,
    refs: DbSecretRefs,
    secrets: Secrets,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut follower = Follower {
            url: subscribe(&secrets, refs.url.as_deref()).await,
            password: subscribe(&secrets, refs.password.as_deref()).await,
            secret: subscribe(&secrets, refs.secret.as_deref()).await,
            current: configured_url(&config).ok().flatten(),
            db,
            config,
            refs,
            secrets,
        };
        follower.run().await;
    })
}

async fn subscribe(secrets: &Secrets, reference: Option<&str>) -> Option<watch::Receiver<Secret>> {
    let reference = reference?;
    match secrets.subscribe(reference).await {
        Ok(rx) => Some(rx),
        Err(error) => {
            tracing::warn!(%error, "cannot follow a database secret; its rotation will not reach the pool");
            None
        }
    }
}

struct Follower<DB: Backend> {
    db: Database<DB>,
    config: DatabaseConfig,
    refs: DbSecretRefs,
    secrets: Secrets,
    url: Option<watch::Receiver<Secret>>,
    password: Option<watch::Receiver<Secret>>,
    secret: Option<watch::Receiver<Secret>>,
    /// The URL the pool's new connections use.
    current: Option<SecretString>,
}

impl<DB: Backend> Follower<DB> {
    async fn run(&mut self) {
        let mut last_forced: Option<Instant> = None;
        let mut retry: Option<Duration> = None;
        let max_retry = self.secrets.config().refresh_interval;
        loop {
            retry = match self.apply().await {
                Ok(()) => None,
                Err(()) => Some(retry.map_or(FIRST_RETRY, |d| (d * 2).min(max_retry))),
            };
            tokio::select! {
                () = changed(&mut self.url) => {}
                () = changed(&mut self.password) => {}
                () = changed(&mut self.secret) => {}
                () = self.db.credentials_refused() => {
                    // One fetch at a time (this task), at most one per REFUSED_DEBOUNCE.
                    if let Some(at) = last_forced {
                        tokio::time::sleep_until(at + REFUSED_DEBOUNCE).await;
                    }
                    last_forced = Some(Instant::now());
                    for reference in self.refs.all() {
                        // A failure is logged and counted by `Secrets`.
                        let _ = self.secrets.refresh(reference).await;
                    }
                }
                () = tokio::time::sleep(retry.unwrap_or_default()), if retry.is_some() => {}
            }
        }
    }

    /// Rotates the pool if the secrets now describe another URL; `Err` if the database
    /// refused it (to be retried).
    async fn apply(&mut self) -> Result<(), ()> {
        let mut config = self.config.clone();
        if let Some(rx) = &mut self.url {
            config.url = rx.borrow_and_update().to_secret_string();
        }
        if let Some(rx) = &mut self.password {
            config.password = rx.borrow_and_update().to_secret_string();
        }
        if let Some(rx) = &mut self.secret {
            config.secret = rx.borrow_and_update().to_secret_string();
        }
        let wanted = match configured_url(&config) {
            Ok(Some(url)) => url,
            Ok(None) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, "a database secret changed to an unusable value; keeping the current credentials");
                return Ok(());
            }
        };
        let unchanged = self
            .current
            .as_ref()
            .is_some_and(|c| c.expose_secret() == wanted.expose_secret());
        if unchanged {
            return Ok(());
        }
        match self.db.rotate_credentials(&wanted).await {
            Ok(()) => {
                self.current = Some(wanted);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "keeping the current database credentials; will retry the new ones");
                Err(())
            }
        }
    }
}

/// Resolves when `rx` sees a new value; never if there is no receiver or its sender is gone.
async fn changed(rx: &mut Option<watch::Receiver<Secret>>) {
    if let Some(rx) = rx
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_come_from_the_database_keys() {
        let mut keys = BTreeMap::new();
        assert!(DbSecretRefs::from_keys(&keys).is_empty());
        keys.insert("app.token".to_string(), "env://T".to_string());
        keys.insert("database.secret".to_string(), "aws-sm://db".to_string());
        let refs = DbSecretRefs::from_keys(&keys);
        assert_eq!(refs.all().collect::<Vec<_>>(), ["aws-sm://db"]);
    }
}
