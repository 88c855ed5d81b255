//! What `run` does, in order: configuration, telemetry, listener, database, routes, serve, drain.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::builder::{RoutesFn, ServiceBuilder};
use super::database::{OpenArgs, Opener, opener};
use super::deferred::{Deferred, starting};
use super::secret_tasks::SecretTasks;
use super::{Context, Error, ops};
use crate::auth::AuthRuntime;
use crate::config::{Config, ConfigError, Loaded};
use crate::db::OpenDatabase;
use crate::health::Health;
use crate::invalid::InvalidSetting;
use crate::secrets::Secrets;
use crate::server::{ConnectionLimits, POOL_CLOSE_TIMEOUT, Phase, serve, standard_stack};
use crate::telemetry;
use crate::tls::ServerTls;

/// Whether the drain delay applies to a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drain {
    /// SIGTERM or a test: readiness 503, wait `server.drain_delay`, then stop accepting.
    Delayed,
    /// Ctrl-C: stop accepting at once.
    Immediate,
}

/// A builder whose configuration is loaded and telemetry installed.
pub(crate) struct Prepared {
    builder: ServiceBuilder,
    loaded: Loaded,
    secrets: Secrets,
}

/// Loads configuration, resolving secret references (failing with the invalid key), installs
/// telemetry and logs the effective configuration with secrets redacted.
pub(crate) async fn prepare(builder: ServiceBuilder) -> Result<Prepared, Error> {
    if !builder.unserializable.is_empty() {
        return Err(ConfigError::from_problems(builder.unserializable.clone()).into());
    }
    let (loaded, secrets) =
        crate::config::load(&builder.sources, &builder.name, &builder.secret_providers).await?;
    let config = &loaded.config;
    telemetry::init(
        &config.service.name,
        &config.service.environment,
        builder.version,
        &config.log,
        &config.telemetry,
    )?;
    if loaded.config.telemetry.metrics {
        // Installed before anything records, so that no early metric is lost.
        let _ = telemetry::prometheus::handle();
    }
    tracing::info!(config = %crate::config::report(&loaded), "effective configuration");
    Ok(Prepared {
        builder,
        loaded,
        secrets,
    })
}

/// The servers of one service: the main listener and, optionally, the admin listener.
struct Servers {
    phase: watch::Sender<Phase>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Servers {
    fn spawn(
        &mut self,
        listener: TcpListener,
        app: Deferred,
        limits: ConnectionLimits,
        tls: Option<ServerTls>,
    ) {
        let phase = self.phase.subscribe();
        self.tasks
            .push(tokio::spawn(serve(listener, app, limits, phase, tls)));
    }

    /// Keeps accepting, but closes each HTTP/1 connection after its next response
    /// (`Connection: close`), so clients move off before the listener closes.
    fn drain(&self) {
        let _ = self.phase.send(Phase::Draining);
    }

    /// Stops accepting and waits for open requests.
    async fn stop(self) {
        let _ = self.phase.send(Phase::Stopping);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

impl Prepared {
    pub(crate) fn config(&self) -> &Config {
        &self.loaded.config
    }

    /// Serves on `listener` until `shutdown` resolves, then drains. The steps, in order:
    /// [`bind`] (the listeners answer probes from the first moment), [`build_routes`] (database,
    /// migrations, the service's routes next to the endpoints), [`await_startup`] (or a
    /// shutdown that comes first), then [`drain_and_stop`].
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: Pin<Box<dyn Future<Output = Drain> + Send>>,
        force: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Result<(), Error> {
        let started_at = Instant::now();
        let Prepared {
            builder,
            loaded,
            secrets,
        } = self;
        let config = loaded.config.clone();
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: format!("{}:{}", config.server.host, config.server.port),
            source,
        })?;
        log_starting(&config, builder.version, addr);

        let on_ready = builder.on_ready;
        let health = Health::new(config.health.check_timeout);
        for check in builder.checks {
            health.register_arc(check);
        }
        let mut secret_tasks = SecretTasks::start(&secrets);
        let db_slot: ops::DbSlot = Arc::new(OnceLock::new());
        #[cfg(feature = "events")]
        let events_slot: Arc<OnceLock<crate::events::Runtime>> = Arc::new(OnceLock::new());
        // A service dropped without a drain (an aborted task) takes its relay and consumers
        // with it.
        #[cfg(feature = "events")]
        let _abort_events = AbortEvents(events_slot.clone());
        #[cfg(feature = "openapi")]
        let openapi = openapi_router(builder.openapi, &config, builder.version)?;
        #[cfg(not(feature = "openapi"))]
        let openapi: Option<Router> = None;
        let ops = ops::router(health.clone(), &config, db_slot.clone(), secrets.clone());
        // Validation loaded the files already; this loads them again for the listener and
        // starts the reload poll.
        let tls = ServerTls::start(&config.server)
            .map_err(|setting| ConfigError::invalid(&loaded.figment, setting))?;
        let Bound {
            servers,
            app,
            ops_on_main,
        } = bind(listener, ops, &config, tls).await?;

        let routes = build_routes(
            Start {
                version: builder.version,
                migrations: builder.migrations,
                database: builder.database,
                routes: builder.routes,
                loaded,
                health: health.clone(),
                #[cfg(feature = "events")]
                events: events_slot.clone(),
            },
            &mut secret_tasks,
            openapi.into_iter().chain(ops_on_main).collect(),
        );
        let db = match await_startup(routes, &mut shutdown).await {
            Startup::Ready(routes, db) => {
                app.set(standard_stack(routes, &config.server));
                if let Some(db) = &db {
                    let _ = db_slot.set(Arc::clone(db));
                }
                health.mark_started();
                tracing::info!(%addr, elapsed = ?started_at.elapsed(), "ready");
                #[cfg(feature = "events")]
                if let Some(events) = events_slot.get() {
                    events.start();
                }
                for ready in on_ready {
                    ready(addr);
                }
                db
            }
            Startup::Failed(e) => {
                stop_early(servers).await;
                return Err(e);
            }
            Startup::Cancelled => {
                tracing::info!("shutdown requested during startup");
                stop_early(servers).await;
                return Ok(());
            }
        };

        let drain = shutdown.await;
        #[cfg(feature = "events")]
        let events = events_slot.get().cloned();
        #[cfg(not(feature = "events"))]
        let events: Option<()> = None;
        drain_and_stop(&config, drain, &health, servers, db, events, force).await;
        drop(secret_tasks);
        Ok(())
    }
}

/// The first log line, and the build-info metric.
fn log_starting(config: &Config, version: &'static str, addr: std::net::SocketAddr) {
    tracing::info!(
        service = %config.service.name,
        version,
        environment = %config.service.environment,
        %addr,
        admin_port = ?config.server.admin_port,
        auth = if config.auth.is_enabled() { "enabled" } else { "DISABLED" },
        "starting"
    );
    telemetry::prometheus::record_build_info(&config.service.name, version);
}

/// The listeners, serving before the service's routes exist.
struct Bound {
    servers: Servers,
    /// The main listener's app: the probes (or nothing) and `starting` until the routes are set.
    app: Deferred,
    /// The operational endpoints, when they share the main listener; they join the routes.
    ops_on_main: Option<Router>,
}

/// Step 1: serves `listener` (and the admin port, when configured) at once, so that health
/// endpoints answer from the first moment; other paths answer `starting` until the routes are
/// built.
async fn bind(
    listener: TcpListener,
    ops: Router,
    config: &Config,
    tls: Option<ServerTls>,
) -> Result<Bound, Error> {
    let limits = ConnectionLimits::from_config(&config.server);
    let mut servers = Servers {
        phase: watch::channel(Phase::Serving).0,
        tasks: Vec::new(),
    };
    let (startup, ops_on_main) = match config.server.admin_port {
        Some(port) => {
            let admin_addr = format!("{}:{port}", config.server.host);
            let admin = TcpListener::bind(&admin_addr)
                .await
                .map_err(|source| Error::Bind {
                    addr: admin_addr,
                    source,
                })?;
            let admin_app = Deferred::new(standard_stack(ops, &config.server));
            // Plain HTTP on purpose: kubelet and load balancer probes have no client
            // certificate.
            servers.spawn(admin, admin_app, limits, None);
            (Router::new().fallback(starting), None)
        }
        None => (ops.clone().fallback(starting), Some(ops)),
    };
    let app = Deferred::new(standard_stack(startup, &config.server));
    servers.spawn(listener, app.clone(), limits, tls);
    Ok(Bound {
        servers,
        app,
        ops_on_main,
    })
}

/// The document's router, built before startup so that a document that cannot be served
/// fails at once.
#[cfg(feature = "openapi")]
fn openapi_router(
    spec: Option<utoipa::openapi::OpenApi>,
    config: &Config,
    version: &'static str,
) -> Result<Option<Router>, Error> {
    spec.map(|spec| {
        let spec = crate::openapi::complete(spec, &config.service.name, version);
        crate::openapi::router(&spec, &config.openapi.path).map_err(Error::OpenApi)
    })
    .transpose()
}

/// Step 2: opens the database, migrates, builds the service's routes and merges `beside`
/// (the OpenAPI and operational endpoints) into them.
async fn build_routes(
    start: Start,
    secret_tasks: &mut SecretTasks,
    beside: Vec<Router>,
) -> Result<(Router, Option<Arc<dyn OpenDatabase>>), Error> {
    let (mut routes, db) = start.run(secret_tasks).await?;
    for endpoints in beside {
        routes = merge(endpoints, routes)?;
    }
    Ok((routes, db))
}

/// How startup ended.
enum Startup {
    /// The routes are built: serve them.
    Ready(Router, Option<Arc<dyn OpenDatabase>>),
    /// Startup failed.
    Failed(Error),
    /// A shutdown was requested first.
    Cancelled,
}

/// Step 3: waits for `routes`, unless `shutdown` resolves first.
async fn await_startup(
    routes: impl Future<Output = Result<(Router, Option<Arc<dyn OpenDatabase>>), Error>>,
    shutdown: &mut Pin<Box<dyn Future<Output = Drain> + Send>>,
) -> Startup {
    tokio::select! {
        result = routes => match result {
            Ok((routes, db)) => Startup::Ready(routes, db),
            Err(e) => Startup::Failed(e),
        },
        _ = shutdown => Startup::Cancelled,
    }
}

/// Stops the listeners of a service that never became ready.
async fn stop_early(servers: Servers) {
    servers.stop().await;
    telemetry::shutdown();
}

/// The service's routes next to the operational ones; a clash is an error, not a panic.
fn merge(ops: Router, routes: Router) -> Result<Router, Error> {
    std::panic::catch_unwind(AssertUnwindSafe(|| ops.merge(routes))).map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_default();
        Error::RouteClash { reason }
    })
}

/// What building the routes needs from the builder and the loaded configuration.
struct Start {
    version: &'static str,
    migrations: Option<&'static crate::db::Migrations>,
    /// The driver declared with `ServiceBuilder::database`, if any.
    database: Option<Opener>,
    routes: Option<RoutesFn>,
    loaded: Loaded,
    health: Health,
    /// Where the events runtime goes, for the lifecycle to start and stop it.
    #[cfg(feature = "events")]
    events: Arc<OnceLock<crate::events::Runtime>>,
}

impl Start {
    /// Opens the database, migrates, and builds the service's routes.
    async fn run(
        self,
        secret_tasks: &mut SecretTasks,
    ) -> Result<(Router, Option<Arc<dyn OpenDatabase>>), Error> {
        let Start {
            version,
            migrations,
            database,
            routes,
            loaded,
            health,
            #[cfg(feature = "events")]
                events: events_slot,
        } = self;
        let config = &loaded.config;
        let wants_db = database.is_some()
            || migrations.is_some()
            || config.database.url.is_some()
            || config.database.secret.is_some();
        let db = if wants_db {
            let open = database.unwrap_or(opener::<sqlx::Any>);
            let args = OpenArgs {
                loaded: &loaded,
                migrations,
                health: &health,
                secret_tasks,
            };
            Some(open(args).await?)
        } else {
            None
        };
        let auth = AuthRuntime::start(&config.auth, &config.service.name, &health)
            .await
            .map_err(|e| {
                ConfigError::invalid(
                    &loaded.figment,
                    InvalidSetting::new(e.key, e.message, e.fix),
                )
            })?;
        secret_tasks.follow_auth(&auth, &loaded);
        #[cfg(feature = "events")]
        let events = match &db {
            Some(db) => {
                let runtime = crate::events::Runtime::open(
                    &config.service.name,
                    &config.events,
                    db.events_store(),
                    &health,
                )
                .await
                .map_err(Error::Events)?;
                let _ = events_slot.set(runtime.clone());
                Some(runtime)
            }
            None => None,
        };
        #[cfg(feature = "cache")]
        let cache = match &config.cache.url {
            Some(_) => Some(
                crate::cache::Cache::open(&config.cache, &config.service.name, &health)
                    .await
                    .map_err(|e| ConfigError::invalid(&loaded.figment, e))?,
            ),
            None => None,
        };
        let ctx = Context::new(
            version,
            loaded,
            db.clone(),
            health.clone(),
            auth,
            secret_tasks.secrets(),
            super::context::Runtimes {
                #[cfg(feature = "events")]
                events,
                #[cfg(feature = "cache")]
                cache,
            },
        );
        let routes = match routes {
            Some(f) => f(ctx.clone()).await.map_err(Error::Routes)?,
            None => Router::new(),
        };
        // Clients are asked for while the routes are built; a table nobody asked for is a typo.
        ctx.check_unused_clients()?;
        secret_tasks.register_check(&health);
        Ok((routes, db))
    }
}

/// Readiness-first shutdown: 503 on readiness, wait for load balancers, stop accepting, let
/// in-flight requests finish within the deadline, close the pool, flush telemetry.
async fn drain_and_stop(
    config: &Config,
    drain: Drain,
    health: &Health,
    servers: Servers,
    db: Option<Arc<dyn OpenDatabase>>,
    events: Option<impl EventsRuntime>,
    force: Pin<Box<dyn Future<Output = ()> + Send>>,
) {
    health.start_draining();
    if drain == Drain::Delayed {
        servers.drain();
    }
    let delay = match drain {
        Drain::Delayed => config.server.drain_delay,
        Drain::Immediate => Duration::ZERO,
    };
    tracing::info!(drain_delay = ?delay, "shutting down: readiness is now 503");
    let deadline = config.server.shutdown_timeout;
    let aborts: Vec<_> = servers.tasks.iter().map(JoinHandle::abort_handle).collect();
    let drain = async {
        tokio::time::sleep(delay).await;
        tokio::time::timeout(deadline, servers.stop()).await
    };
    let outcome = tokio::select! {
        outcome = drain => outcome.map_err(|_| "in-flight requests still running at the deadline; dropping them"),
        () = force => Err("second signal: stopping without waiting"),
    };
    match outcome {
        Ok(()) => tracing::info!("all in-flight requests finished"),
        Err(why) => {
            tracing::warn!(deadline = ?deadline, "{why}");
            for abort in aborts {
                abort.abort();
            }
        }
    }
    // Consumers stop pulling and finish their handlers (which need the pool) first.
    if let Some(events) = events {
        events.stop(deadline).await;
    }
    if let Some(db) = db
        && tokio::time::timeout(POOL_CLOSE_TIMEOUT, db.close())
            .await
            .is_err()
    {
        tracing::warn!("database pool did not close in time");
    }
    tracing::info!("stopped");
    telemetry::shutdown();
}

/// What the drain stops before the pool closes: the events runtime, when compiled in.
trait EventsRuntime {
    /// Stops consumers and the relay within `deadline`.
    fn stop(self, deadline: Duration) -> impl Future<Output = ()> + Send;
}

impl EventsRuntime for () {
    async fn stop(self, _deadline: Duration) {}
}

#[cfg(feature = "events")]
impl EventsRuntime for crate::events::Runtime {
    async fn stop(self, deadline: Duration) {
        crate::events::Runtime::stop(&self, deadline).await;
    }
}

/// Aborts the events runtime when dropped (after the drain stopped it, this does nothing).
#[cfg(feature = "events")]
struct AbortEvents(Arc<OnceLock<crate::events::Runtime>>);

#[cfg(feature = "events")]
impl Drop for AbortEvents {
    fn drop(&mut self) {
        if let Some(events) = self.0.get() {
            events.abort();
        }
    }
}
