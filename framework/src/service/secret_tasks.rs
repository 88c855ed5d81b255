//! The secret machinery a running service owns: the refresh task, the `secrets` readiness
//! check, the task that moves the database pool to rotated credentials, and the tasks that
//! apply rotated auth secrets (HMAC secrets, PEM keys, client secrets).

use tokio::task::JoinHandle;

use crate::auth::{AuthRuntime, follow_auth_secrets};
use crate::config::Loaded;
use crate::db::{Backend, Database, DbSecretRefs, follow_secrets};
use crate::health::Health;
use crate::secrets::{RefreshTask, Secrets};

/// Stops its tasks when dropped (at the end of the drain, or when the service is dropped).
pub(crate) struct SecretTasks {
    secrets: Secrets,
    _refresh: RefreshTask,
    follow: Option<JoinHandle<()>>,
    follow_auth: Vec<JoinHandle<()>>,
}

impl SecretTasks {
    /// Starts refreshing every cached secret each `secrets.refresh_interval`.
    pub(crate) fn start(secrets: &Secrets) -> Self {
        Self {
            secrets: secrets.clone(),
            _refresh: secrets.spawn_refresh(),
            follow: None,
            follow_auth: Vec::new(),
        }
    }

    pub(crate) fn secrets(&self) -> Secrets {
        self.secrets.clone()
    }

    /// Makes the pool follow the secrets behind the database keys, if there are any.
    pub(crate) fn follow_database<DB: Backend>(&mut self, db: &Database<DB>, loaded: &Loaded) {
        let refs = DbSecretRefs::from_keys(&loaded.secret_refs);
        if refs.is_empty() {
            return;
        }
        self.follow = Some(follow_secrets(
            db.clone(),
            loaded.config.database.clone(),
            refs,
            self.secrets.clone(),
        ));
    }

    /// Makes auth follow the secrets behind its `hs_secret`, `pem` and `client_secret` keys.
    pub(crate) fn follow_auth(&mut self, auth: &AuthRuntime, loaded: &Loaded) {
        self.follow_auth = follow_auth_secrets(
            auth,
            &loaded.config.auth,
            &loaded.secret_refs,
            &self.secrets,
        );
    }

    /// Registers the `secrets` readiness check if the service uses any secret (from its
    /// configuration or fetched while its routes were built).
    pub(crate) fn register_check(&self, health: &Health) {
        if !self.secrets.status().is_empty() {
            health.register(self.secrets.health_check());
        }
    }
}

impl Drop for SecretTasks {
    fn drop(&mut self) {
        if let Some(follow) = self.follow.take() {
            follow.abort();
        }
        for task in self.follow_auth.drain(..) {
            task.abort();
        }
    }
}
