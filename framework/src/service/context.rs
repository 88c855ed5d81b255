//! What a service's route function receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

use super::NoDatabase;
use crate::auth::{AuthLayer, AuthRuntime, RequireLayer, TokenSource, UnknownClient};
use crate::client::ServiceClient;
use crate::config::{Config, ConfigError, Loaded};
use crate::db::{Backend, Database, OpenDatabase};
use crate::health::Health;
use crate::invalid::InvalidSetting;
use crate::secrets::Secrets;
#[cfg(feature = "rate-limit")]
use crate::server::RateLimitLayer;

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
    db: Option<Arc<dyn OpenDatabase>>,
    health: Health,
    clients: Mutex<HashMap<String, ServiceClient>>,
    auth: AuthRuntime,
    secrets: Secrets,
    #[cfg(feature = "events")]
    events: Option<crate::events::Runtime>,
    #[cfg(feature = "cache")]
    cache: Option<crate::cache::Cache>,
}

/// What startup connected besides the pool, each behind its feature.
#[derive(Default)]
pub(crate) struct Runtimes {
    /// The events runtime (a service with a database).
    #[cfg(feature = "events")]
    pub(crate) events: Option<crate::events::Runtime>,
    /// The shared cache (`cache.url` set).
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::cache::Cache>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.name())
            .field("version", &self.version())
            .field(
                "db",
                &self.inner.db.as_ref().map(|db| (db.driver(), db.kind())),
            )
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn new(
        version: &'static str,
        loaded: Loaded,
        db: Option<Arc<dyn OpenDatabase>>,
        health: Health,
        auth: AuthRuntime,
        secrets: Secrets,
        runtimes: Runtimes,
    ) -> Self {
        let Runtimes {
            #[cfg(feature = "events")]
            events,
            #[cfg(feature = "cache")]
            cache,
        } = runtimes;
        Self {
            inner: Arc::new(Inner {
                version,
                loaded,
                db,
                health,
                clients: Mutex::new(HashMap::new()),
                auth,
                secrets,
                #[cfg(feature = "events")]
                events,
                #[cfg(feature = "cache")]
                cache,
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

    /// The portable database pool, opened and migrated before the route function runs.
    ///
    /// A service that declared a typed driver with
    /// [`ServiceBuilder::database`](crate::ServiceBuilder::database) gets its pool from
    /// [`Context::db_as`] instead; asking here is an error that says so.
    pub fn db(&self) -> Result<Database, NoDatabase> {
        self.db_as::<sqlx::Any>()
    }

    /// The pool of driver `DB`, as declared with
    /// [`ServiceBuilder::database::<DB>()`](crate::ServiceBuilder::database): the typed pool
    /// (`Database<sqlx::Postgres>`, whose [`pool`](Database::pool) is a `PgPool`), opened and
    /// migrated before the route function runs. Asking for another driver than the declared
    /// one is an error naming both.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     let db = ctx.db_as::<sqlx::Postgres>()?;
    ///     let _pool: &sqlx::PgPool = db.pool();
    ///     Ok(axum::Router::new().with_state(db))
    /// }
    /// ```
    pub fn db_as<DB: Backend>(&self) -> Result<Database<DB>, NoDatabase> {
        let db = self.inner.db.as_ref().ok_or(NoDatabase::NONE)?;
        db.as_any()
            .downcast_ref::<Database<DB>>()
            .cloned()
            .ok_or_else(|| NoDatabase::other_driver(db.driver(), DB::DRIVER))
    }

    /// The service's [`Events`](crate::events::Events) on the portable pool: stage events in
    /// its transactions, register handlers. Events need a database (the outbox and inbox
    /// tables live in it): without one this is the error [`Context::db`] gives. A service
    /// with a typed pool uses [`Context::events_as`].
    ///
    /// ```no_run
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     let events = ctx.events()?;
    ///     # let _ = events;
    ///     Ok(axum::Router::new())
    /// }
    /// ```
    #[cfg(feature = "events")]
    pub fn events(&self) -> Result<crate::events::Events, NoDatabase> {
        self.events_as::<sqlx::Any>()
    }

    /// [`Context::events`] for a service that declared the typed driver `DB`: handlers get a
    /// `Transaction<'static, DB>`.
    #[cfg(feature = "events")]
    pub fn events_as<DB: Backend>(&self) -> Result<crate::events::Events<DB>, NoDatabase> {
        let db = self.db_as::<DB>()?;
        let runtime = self.inner.events.clone().ok_or(NoDatabase::NONE)?;
        Ok(crate::events::Events::new(runtime, db))
    }

    /// The service's shared [`Cache`](crate::cache::Cache), connected at startup from
    /// `[cache]`. Without `cache.url` this is an error that names the key. Every call returns
    /// a handle to the same connection and single-flight table. Needs servicekit's `cache`
    /// feature; see [`docs/cache.md`](https://github.com/servicekit/servicekit/blob/main/docs/cache.md).
    ///
    /// ```no_run
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     let cache = ctx.cache()?;
    ///     Ok(axum::Router::new().with_state(cache))
    /// }
    /// ```
    #[cfg(feature = "cache")]
    pub fn cache(&self) -> Result<crate::cache::Cache, crate::cache::NoCache> {
        self.inner.cache.clone().ok_or(crate::cache::NoCache)
    }

    /// The client for the downstream `name`, configured by `[clients.<name>]`.
    ///
    /// Every call with the same name returns the same client (one breaker, budget and pool per
    /// downstream). A missing table is an error naming the key to add. `_` and `-` in the name
    /// are alike, as environment variables can only write `SERVICEKIT__CLIENTS__STUDENT_SERVICE__..`.
    /// Ask for every configured client while building the routes: a `[clients.<name>]` table
    /// that no code asked for by then stops startup, naming the key.
    ///
    /// ```no_run
    /// async fn app(ctx: servicekit::Context) -> Result<axum::Router, servicekit::BoxError> {
    ///     let students = ctx.client("student-service")?;
    ///     # let _ = students;
    ///     Ok(axum::Router::new())
    /// }
    /// ```
    pub fn client(&self, name: &str) -> Result<ServiceClient, ConfigError> {
        let figment = &self.inner.loaded.figment;
        let clients = &self.inner.loaded.config.clients;
        // `student_service` and `student-service` are the same client: environment variables
        // can only spell it the first way (see `docs/configuration.md`).
        let found = clients.get_key_value(name).or_else(|| {
            let folded = name.replace('_', "-");
            clients
                .iter()
                .find(|(key, _)| key.replace('_', "-") == folded)
        });
        let Some((key_name, config)) = found else {
            let key = format!("clients.{name}");
            let message = format!("no client `{name}` is configured");
            let fix = format!(
                "add a [{key}] table with base_url = \"http://...\" \
                 (or SERVICEKIT__CLIENTS__{}__BASE_URL)",
                name.to_ascii_uppercase().replace('-', "_")
            );
            return Err(ConfigError::invalid(
                figment,
                InvalidSetting::new(format!("{key}.base_url"), message, fix),
            ));
        };
        let mut made = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = made.get(key_name) {
            return Ok(client.clone());
        }
        let key = format!("clients.{key_name}");
        let client = ServiceClient::new(name, config).map_err(|e| {
            ConfigError::invalid(
                figment,
                InvalidSetting::new(e.key, e.message, e.fix).under(&key),
            )
        })?;
        made.insert(key_name.clone(), client.clone());
        Ok(client)
    }

    /// Fails for a `[clients.<name>]` table that no code asked for with [`Context::client`]:
    /// a misspelt name (`SERVICEKIT__CLIENTS__STUDENT_SERVCE__BASE_URL`) would otherwise be
    /// ignored while the client runs on its default address. Called once the routes are built.
    pub(crate) fn check_unused_clients(&self) -> Result<(), ConfigError> {
        let made = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        let Some(unused) = self
            .inner
            .loaded
            .config
            .clients
            .keys()
            .find(|name| !made.contains_key(*name))
        else {
            return Ok(());
        };
        let figment = &self.inner.loaded.figment;
        // Name a key that was actually set, so that the error says where it came from.
        let key = figment
            .find_value(&format!("clients.{unused}"))
            .ok()
            .and_then(|v| v.into_dict())
            .and_then(|d| d.into_keys().next())
            .map_or_else(
                || format!("clients.{unused}"),
                |first| format!("clients.{unused}.{first}"),
            );
        let mut requested: Vec<&str> = made.keys().map(String::as_str).collect();
        requested.sort_unstable();
        let requested = if requested.is_empty() {
            "none".to_string()
        } else {
            requested.join(", ")
        };
        let message = format!(
            "client `{unused}` is configured but the service never asks for it (it asks for: \
             {requested})"
        );
        let fix = "correct the client's name to one the service asks for, or remove its settings";
        Err(ConfigError::invalid(
            figment,
            InvalidSetting::new(key, message, fix),
        ))
    }

    /// The health registry: register readiness checks with [`Health::register`].
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// The auth layer built from `[auth]` at startup (its key readiness check is registered).
    /// Apply it to the service's routes; health probes stay public. Without `[auth]` issuers it
    /// lets every request through (and a WARN was logged at startup).
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    /// use servicekit::auth::require_scope;
    ///
    /// async fn app(ctx: servicekit::Context) -> Router {
    ///     Router::new()
    ///         .route("/students", get(|| async { "[]" }))
    ///         .route_layer(require_scope("students:read"))
    ///         .layer(ctx.auth())
    /// }
    /// ```
    pub fn auth(&self) -> AuthLayer {
        self.inner.auth.layer.clone()
    }

    /// The scope string tokens carry for the scope the code calls `name`: the value of
    /// `auth.scopes."<name>"` if set, else `name` itself.
    pub fn scope(&self, name: &str) -> String {
        self.config().auth.scope(name).to_string()
    }

    /// [`require_scope`](crate::auth::require_scope) for the scope the code calls `name`, mapped
    /// through `[auth.scopes]`, so that an identity provider's own scope strings (an Amazon
    /// Cognito resource server's `students-api/students.read`, say) work without code changes.
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    ///
    /// // [auth.scopes]
    /// // "students:read" = "students-api/students.read"
    /// async fn app(ctx: servicekit::Context) -> Router {
    ///     Router::new()
    ///         .route("/students", get(|| async { "[]" }))
    ///         .route_layer(ctx.require_scope("students:read"))
    ///         .layer(ctx.auth())
    /// }
    /// ```
    pub fn require_scope(&self, name: &str) -> RequireLayer {
        crate::auth::require_scope(self.scope(name))
    }

    /// The role tokens carry for the role the code calls `name` (`auth.roles."<name>"`, else
    /// `name`).
    pub fn role(&self, name: &str) -> String {
        self.config().auth.role(name).to_string()
    }

    /// [`require_role`](crate::auth::require_role) for the role the code calls `name`, mapped
    /// through `[auth.roles]`.
    pub fn require_role(&self, name: &str) -> RequireLayer {
        crate::auth::require_role(self.role(name))
    }

    /// A rate-limit layer built from `[rate_limit]` (a pass-through one when it is disabled).
    /// Each call makes new, independent in-process buckets: call it once and apply the layer once, inside
    /// [`Context::auth`] so that keys `subject` and `client_id` see the verified principal
    /// (see [`docs/rate-limiting.md`](https://github.com/servicekit/servicekit/blob/main/docs/rate-limiting.md)). Needs servicekit's `rate-limit` feature.
    ///
    /// ```no_run
    /// use axum::{Router, routing::get};
    ///
    /// async fn app(ctx: servicekit::Context) -> Router {
    ///     Router::new()
    ///         .route("/students", get(|| async { "[]" }))
    ///         .layer(ctx.rate_limit())
    ///         .layer(ctx.auth())
    /// }
    /// ```
    ///
    /// With `rate_limit.store = "redis"` the buckets live in Redis, on the service's one
    /// connection from `[cache]` (startup has checked that `cache.url` is set), under
    /// `rate_limit.prefix` or else the service name: every replica shares them.
    #[cfg(feature = "rate-limit")]
    pub fn rate_limit(&self) -> RateLimitLayer {
        let config = &self.config().rate_limit;
        #[cfg(feature = "cache")]
        if config.enabled
            && config.store == crate::server::rate_limit::StoreKind::Redis
            && let Some(cache) = &self.inner.cache
        {
            let prefix = config.prefix.as_deref().unwrap_or(self.name());
            return RateLimitLayer::redis(config, prefix, cache.connection());
        }
        RateLimitLayer::new(config)
    }

    /// The outgoing token source configured as `[auth.clients.NAME]` (client credentials).
    pub fn token_source(&self, name: &str) -> Result<Arc<dyn TokenSource>, UnknownClient> {
        self.inner.auth.token_source(name)
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
