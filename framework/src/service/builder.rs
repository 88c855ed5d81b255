//! `Service::builder(..)`: everything `#[microservice]` does, by hand.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::net::TcpListener;

use super::database::{Opener, opener};
use super::lifecycle::{self, Drain};
use super::{Context, Error, IntoRoutes};
use crate::BoxError;
use crate::config::{ConfigProblem, Sources};
use crate::db::{Backend, Migrations};
use crate::health::HealthCheck;
use crate::secrets::SecretProvider;
use crate::server::{Signal, shutdown_signal};

/// The entry point of a servicekit service; see [`Service::builder`].
#[derive(Debug, Clone, Copy)]
pub struct Service {
    _priv: (),
}

pub(crate) type RoutesFn =
    Box<dyn FnOnce(Context) -> BoxFuture<'static, Result<Router, BoxError>> + Send>;

/// A callback run once the service is ready, with the address of its main listener.
pub(crate) type ReadyFn = Box<dyn FnOnce(SocketAddr) + Send>;

/// Configures and runs a service: configuration, logging, database, routes, health, shutdown.
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// async fn app(_ctx: servicekit::Context) -> Router {
///     Router::new().route("/hello", get(|| async { "hello" }))
/// }
///
/// fn main() -> std::process::ExitCode {
///     servicekit::Service::builder("hello-service")
///         .version(env!("CARGO_PKG_VERSION"))
///         .routes(app)
///         .run_main()
/// }
/// ```
#[must_use = "a ServiceBuilder does nothing until it is run"]
pub struct ServiceBuilder {
    pub(crate) name: String,
    pub(crate) version: &'static str,
    pub(crate) migrations: Option<&'static Migrations>,
    /// Opens the pool with the driver given to [`ServiceBuilder::database`].
    pub(crate) database: Option<Opener>,
    pub(crate) routes: Option<RoutesFn>,
    pub(crate) sources: Sources,
    pub(crate) checks: Vec<Arc<dyn HealthCheck>>,
    pub(crate) secret_providers: Vec<Arc<dyn SecretProvider>>,
    pub(crate) on_ready: Vec<ReadyFn>,
    /// Values given to [`ServiceBuilder::set`] or [`ServiceBuilder::default_value`] that could
    /// not be serialized; `run` fails with them as configuration errors.
    pub(crate) unserializable: Vec<ConfigProblem>,
    #[cfg(feature = "openapi")]
    pub(crate) openapi: Option<utoipa::openapi::OpenApi>,
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("config_dir", &self.sources.dir)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Starts building the service called `name`.
    pub fn builder(name: impl Into<String>) -> ServiceBuilder {
        ServiceBuilder {
            name: name.into(),
            version: "0.0.0",
            migrations: None,
            database: None,
            routes: None,
            sources: Sources::new(),
            checks: Vec::new(),
            secret_providers: Vec::new(),
            on_ready: Vec::new(),
            unserializable: Vec::new(),
            #[cfg(feature = "openapi")]
            openapi: None,
        }
    }
}

impl ServiceBuilder {
    /// The version reported in logs (usually `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: &'static str) -> Self {
        self.version = version;
        self
    }

    /// Migrations to run at startup; registering them also opens the database pool (SQLite by
    /// default). Without migrations the pool opens only when `database.url` is set.
    pub fn migrations(mut self, migrations: &'static Migrations) -> Self {
        self.migrations = Some(migrations);
        self
    }

    /// Declares the service's database driver: the pool is opened as `Database<DB>`, which
    /// the routes get with [`Context::db_as`]. Name a typed driver (`sqlx::Postgres`,
    /// `sqlx::MySql`, `sqlx::Sqlite`) for a service committed to one backend, to use native
    /// column types and sqlx's checked `query!` macros on its `PgPool`; `database.url` must
    /// then point at that backend, or startup fails naming both
    /// ([`DbError::BackendMismatch`](crate::db::DbError::BackendMismatch)). Without this call
    /// the service gets the portable pool ([`Context::db`]) whenever it has migrations or a
    /// `database.url`; with it, the service always has a pool.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # fn f() {
    /// use axum::Router;
    /// use servicekit::db::Database;
    ///
    /// async fn app(ctx: servicekit::Context) -> Result<Router, servicekit::BoxError> {
    ///     let db: Database<sqlx::Postgres> = ctx.db_as::<sqlx::Postgres>()?;
    ///     Ok(Router::new().with_state(db))
    /// }
    ///
    /// let builder = servicekit::Service::builder("notes-service")
    ///     .database::<sqlx::Postgres>()
    ///     .routes(app);
    /// # let _ = builder;
    /// # }
    /// ```
    pub fn database<DB: Backend>(mut self) -> Self {
        self.database = Some(opener::<DB>);
        self
    }

    /// The function that builds the service's routes from its [`Context`]; it runs after the
    /// database is ready and before the startup probe turns 200.
    pub fn routes<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoRoutes,
    {
        self.routes = Some(Box::new(move |ctx| {
            Box::pin(async move { f(ctx).await.into_routes() })
        }));
        self
    }

    /// Sets a configuration value in code; it wins over files and environment.
    ///
    /// ```
    /// let builder = servicekit::Service::builder("svc").set("server.port", 0);
    /// # let _ = builder;
    /// ```
    ///
    /// A value that cannot be serialized (a map with non-string keys, a `Serialize` impl that
    /// fails) makes `run` fail with a configuration error naming `key`.
    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        if let Some(value) = self.serialize(key, value, "ServiceBuilder::set") {
            self.sources.overrides.push((key.to_string(), value));
        }
        self
    }

    /// Sets a default in code: it applies unless configuration files or the environment set
    /// the key (unlike [`ServiceBuilder::set`], which wins over both). For an example service's
    /// own port, or the usual address of a downstream:
    ///
    /// ```
    /// let builder = servicekit::Service::builder("subject-service")
    ///     .default_value("server.port", 8081)
    ///     .default_value("clients.student-service.base_url", "http://127.0.0.1:8080");
    /// # let _ = builder;
    /// ```
    ///
    /// A value that cannot be serialized makes `run` fail with a configuration error naming
    /// `key`, as for [`ServiceBuilder::set`].
    pub fn default_value(mut self, key: &str, value: impl Serialize) -> Self {
        if let Some(value) = self.serialize(key, value, "ServiceBuilder::default_value") {
            self.sources.defaults.push((key.to_string(), value));
        }
        self
    }

    /// `value` as JSON, or `None` after recording why it is not, for `run` to report.
    fn serialize(
        &mut self,
        key: &str,
        value: impl Serialize,
        setter: &str,
    ) -> Option<serde_json::Value> {
        match serde_json::to_value(value) {
            Ok(value) => Some(value),
            Err(e) => {
                self.unserializable.push(ConfigProblem {
                    key: key.to_string(),
                    origin: format!("a value set in code ({setter})"),
                    message: format!("the value cannot be serialized: {e}"),
                    fix: crate::invalid::GENERAL_FIX.to_string(),
                });
                None
            }
        }
    }

    /// The folder of `default.toml` and `{env}.toml` (default `config`, or
    /// `SERVICEKIT_CONFIG_DIR`).
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sources.dir = dir.into();
        self
    }

    /// The service's OpenAPI document, served at `openapi.path` (default `/openapi.json`) once the
    /// service is ready, after [`openapi::complete`](crate::openapi::complete) added the
    /// service's name and version, the problem+json errors and the bearer scheme.
    ///
    /// ```
    /// use utoipa_axum::{router::OpenApiRouter, routes};
    ///
    /// #[utoipa::path(get, path = "/hello", responses((status = 200, body = String)))]
    /// async fn hello() -> &'static str {
    ///     "hello"
    /// }
    ///
    /// let (_router, spec): (axum::Router, _) =
    ///     OpenApiRouter::new().routes(routes!(hello)).split_for_parts();
    /// let builder = servicekit::Service::builder("hello-service").openapi(spec);
    /// # let _ = builder;
    /// ```
    #[cfg(feature = "openapi")]
    pub fn openapi(mut self, spec: utoipa::openapi::OpenApi) -> Self {
        self.openapi = Some(spec);
        self
    }

    /// Adds a readiness check (the database registers its own).
    pub fn health_check(mut self, check: impl HealthCheck) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Adds a provider for secret references in configuration values; it replaces the built-in
    /// provider of the same scheme (`env`, `file`, `aws-sm`).
    ///
    /// ```
    /// use servicekit::secrets::EnvProvider;
    ///
    /// // `env://NAME` references read these variables instead of the process environment.
    /// let builder = servicekit::Service::builder("svc")
    ///     .secret_provider(EnvProvider::from_vars([("API_TOKEN", "t0ken")]));
    /// # let _ = builder;
    /// ```
    ///
    /// With the `aws` feature, `secrets::aws::AwsSecretsManager::builder().region(..).build()`
    /// replaces the built-in Secrets Manager client the same way.
    pub fn secret_provider(mut self, provider: impl SecretProvider) -> Self {
        self.secret_providers.push(Arc::new(provider));
        self
    }

    /// Calls `f` once, with the address of the main listener, when the service is ready: the
    /// database is migrated, the routes are built and the startup probe answers 200. Each call
    /// adds a callback; they run in order, on the service's task, so they should return quickly
    /// (send on a channel, write a file). A service that fails to start never calls them.
    ///
    /// ```
    /// # async fn t() -> Result<(), servicekit::Error> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let (ready, started) = tokio::sync::oneshot::channel();
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let service = servicekit::Service::builder("svc")
    ///     .set("service.environment", "test")
    ///     .on_ready(move |addr| {
    ///         let _ = ready.send(addr);
    ///     })
    ///     .run_with(listener, async move {
    ///         let _ = stopped.await;
    ///     });
    /// let task = tokio::spawn(service);
    /// let addr = started.await.expect("the service started");
    /// println!("serving on {addr}");
    /// let _ = stop.send(());
    /// task.await.unwrap()
    /// # }
    /// ```
    pub fn on_ready(mut self, f: impl FnOnce(SocketAddr) + Send + 'static) -> Self {
        self.on_ready.push(Box::new(f));
        self
    }

    /// Like [`ServiceBuilder::set`], but any `set` of the same key, made before or after,
    /// wins over it: `TestApp`'s test settings, which a test may still override.
    #[cfg(feature = "testing")]
    pub(crate) fn set_beneath(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.sources.overrides.insert(0, (key.to_string(), value));
        self
    }

    /// Runs the service: binds `server.host:server.port` and stops on SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<(), Error> {
        let prepared = lifecycle::prepare(self).await?;
        let addr = format!(
            "{}:{}",
            prepared.config().server.host,
            prepared.config().server.port
        );
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let shutdown = Box::pin(async {
            match shutdown_signal().await {
                Signal::Interrupt => Drain::Immediate,
                Signal::Terminate => Drain::Delayed,
            }
        });
        // A second signal during the drain stops waiting for it.
        let force = Box::pin(async {
            shutdown_signal().await;
        });
        prepared.serve(listener, shutdown, force).await
    }

    /// Runs the service on an already bound `listener` until `shutdown` resolves, then drains
    /// as for SIGTERM. Tests bind port 0 and pass a channel; [`ServiceBuilder::on_ready`] tells
    /// them when the service is ready.
    pub async fn run_with<F>(self, listener: TcpListener, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let prepared = lifecycle::prepare(self).await?;
        let shutdown = Box::pin(async move {
            shutdown.await;
            Drain::Delayed
        });
        prepared
            .serve(listener, shutdown, Box::pin(std::future::pending()))
            .await
    }

    /// Builds a multi-threaded tokio runtime, runs the service and converts the outcome into an
    /// exit code, printing the error if there is one. This is what `#[microservice]` calls.
    ///
    /// Started as `<binary> healthcheck`, it instead probes the running service's liveness
    /// endpoint on loopback and exits 0 or 1: a Docker `HEALTHCHECK` for images without `curl`.
    pub fn run_main(self) -> ExitCode {
        if std::env::args().nth(1).as_deref() == Some(super::healthcheck::ARG) {
            return super::healthcheck::run(&self);
        }
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the tokio runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        let code = match runtime.block_on(self.run()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "service failed");
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
        // Log lines still queued for stdout (a failure before shutdown ran) are written now.
        crate::telemetry::flush_logs();
        code
    }
}
