//! What a service's route function receives.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::NoDatabase;
use crate::config::{Config, ConfigError, Loaded};
use crate::db::Database;
use crate::health::Health;
use crate::secrets::Secrets;

/// The context handed to a service's route function: configuration, database, health registry.
///
/// Cloning is cheap; handlers usually keep a clone (or the parts they need) as axum state.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    version: &'static str,
    loaded: Loaded,
    db: Option<Database>,
    health: Health,
    secrets: Secrets,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.name())
            .field("version", &self.version())
            .field("db", &self.inner.db.as_ref().map(Database::kind))
            .finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn new(
        version: &'static str,
        loaded: Loaded,
        db: Option<Database>,
        health: Health,
        secrets: Secrets,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                version,
                loaded,
                db,
                health,
                secrets,
            }),
        }
    }

    /// The service name (`service.name`).
    pub fn name(&self) -> &str {
        &self.inner.loaded.config.service.name
    }

    /// The service version given to the builder.
    pub fn version(&self) -> &'static str {
        self.inner.version
    }

    /// The framework configuration.
    pub fn config(&self) -> &Config {
        &self.inner.loaded.config
    }

    /// The service's own settings: the `[app]` section deserialized into `T`.
    ///
    /// Missing keys take `T`'s serde defaults; an invalid value is an error naming the key and
    /// where it was set (`SERVICEKIT__APP__PAGE_SIZE`, `config/default.toml`, ...).
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Settings {
    ///     #[serde(default = "default_page")]
    ///     page_size: u32,
    /// }
    /// fn default_page() -> u32 { 20 }
    ///
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     let settings: Settings = ctx.settings()?;
    ///     # let _ = settings.page_size;
    ///     Ok(axum::Router::new())
    /// }
    /// ```
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.section("app")
    }

    /// Any configuration section deserialized into `T` (see [`Context::settings`]).
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        self.inner.loaded.section(key)
    }

    /// The database pool, opened and migrated before the route function runs.
    pub fn db(&self) -> Result<Database, NoDatabase> {
        self.inner.db.clone().ok_or(NoDatabase)
    }

    /// The health registry: register readiness checks with [`Health::register`].
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// The service's secrets: fetch more with [`Secrets::get`], follow rotation with
    /// [`Secrets::subscribe`]. Secrets fetched here are refreshed with the configured ones.
    ///
    /// ```no_run
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     // `auth.hs_key = "aws-sm://prod/jwt#hs256"` in the configuration:
    ///     if let Some(reference) = ctx.secret_reference("auth.hs_key") {
    ///         let mut key = ctx.secrets().subscribe(reference).await?;
    ///         tokio::spawn(async move {
    ///             while key.changed().await.is_ok() {
    ///                 let _new_key = key.borrow_and_update().clone();
    ///             }
    ///         });
    ///     }
    ///     Ok(axum::Router::new())
    /// }
    /// ```
    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// The secret reference a configuration key was set to (`database.secret` →
    /// `aws-sm://prod/student-db`), if its value came from a secret.
    pub fn secret_reference(&self, key: &str) -> Option<&str> {
        self.inner.loaded.secret_refs.get(key).map(String::as_str)
    }
}
