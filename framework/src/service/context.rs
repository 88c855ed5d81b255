//! What a service's route function receives.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::NoDatabase;
use crate::config::{Config, ConfigError, Loaded};
use crate::db::Database;
use crate::health::Health;

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
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                version,
                loaded,
                db,
                health,
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

    /// A configuration section deserialized into `T` (see [`Context::settings`]): one of the
    /// framework's sections, or a table of the service's own under `[app]`, e.g. `app.payments`.
    /// Unknown top-level sections are rejected at load time, so typos do not go unnoticed.
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
}
