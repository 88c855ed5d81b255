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
use super::deferred::{Deferred, starting};
use super::secret_tasks::SecretTasks;
use super::{Context, Error, ops};
use crate::auth::AuthRuntime;
use crate::config::{Config, ConfigError, Loaded};
use crate::db::Database;
use crate::health::Health;
use crate::secrets::Secrets;
use crate::server::{ConnectionLimits, Phase, serve, standard_stack};
use crate::telemetry;

/// Whether the drain delay applies to a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drain {
    /// SIGTERM or a test: readiness 503, wait `server.drain_delay`, then stop accepting.
    Delayed,
    /// Ctrl-C: stop accepting at once.
    Immediate,
}

/// Longest wait for pooled connections to close at the very end.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A builder whose configuration is loaded and telemetry installed.
pub(crate) struct Prepared {
    builder: ServiceBuilder,
    loaded: Loaded,
    secrets: Secrets,
}

/// Loads configuration, resolving secret references (failing with the invalid key), installs
/// telemetry and logs the effective configuration with secrets redacted.
pub(crate) async fn prepare(builder: ServiceBuilder) -> Result<Prepared, Error> {
    let (loaded, secrets) =
        crate::config::load(&builder.sources, &builder.name, &builder.secret_providers).await?;
    telemetry::init(&loaded.config, builder.version).map_err(Error::Telemetry)?;
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
    fn spawn(&mut self, listener: TcpListener, app: Deferred, limits: ConnectionLimits) {
        let phase = self.phase.subscribe();
        self.tasks
            .push(tokio::spawn(serve(listener, app, limits, phase)));
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

    /// Serves on `listener` until `shutdown` resolves, then drains.
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
        tracing::info!(
            service = %config.service.name,
            version = builder.version,
            environment = %config.service.environment,
            %addr,
            admin_port = ?config.server.admin_port,
            auth = if config.auth.is_enabled() { "enabled" } else { "DISABLED" },
            "starting"
        );
        telemetry::prometheus::record_build_info(&config.service.name, builder.version);

        // Health endpoints answer from the first moment; other paths wait for the routes.
        let health = Health::new(config.health.check_timeout);
        for check in builder.checks {
            health.register_arc(check);
        }
        let mut secret_tasks = SecretTasks::start(&secrets);
        let db_slot = Arc::new(OnceLock::new());
        let ops = ops::router(health.clone(), &config, db_slot.clone(), secrets.clone());
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
                servers.spawn(admin, admin_app, limits);
                (Router::new().fallback(starting), None)
            }
            None => (ops.clone().fallback(starting), Some(ops)),
        };
        let app = Deferred::new(standard_stack(startup, &config.server));
        servers.spawn(listener, app.clone(), limits);

        #[cfg(feature = "openapi")]
        let openapi = builder
            .openapi
            .map(|spec| {
                let spec = crate::openapi::complete(spec, &config.service.name, builder.version);
                crate::openapi::router(&spec, &config.openapi.path)
            })
            .transpose()
            .map_err(Error::Routes)?;
        let startup = start(
            builder.version,
            builder.migrations,
            builder.routes,
            loaded,
            health.clone(),
            &mut secret_tasks,
        );
        let db = tokio::select! {
            result = startup => match result.and_then(|(routes, db)| {
                #[cfg(feature = "openapi")]
                let routes = match openapi {
                    Some(openapi) => merge(openapi, routes)?,
                    None => routes,
                };
                let routes = match ops_on_main {
                    Some(ops) => merge(ops, routes)?,
                    None => routes,
                };
                Ok((routes, db))
            }) {
                Ok((routes, db)) => {
                    app.set(standard_stack(routes, &config.server));
                    if let Some(db) = &db {
                        let _ = db_slot.set(db.clone());
                    }
                    health.mark_started();
                    tracing::info!(%addr, elapsed = ?started_at.elapsed(), "ready");
                    db
                }
                Err(e) => {
                    servers.stop().await;
                    telemetry::shutdown();
                    return Err(e);
                }
            },
            _ = &mut shutdown => {
                tracing::info!("shutdown requested during startup");
                servers.stop().await;
                telemetry::shutdown();
                return Ok(());
            }
        };

        let drain = shutdown.await;
        drain_and_stop(&config, drain, &health, servers, db, force).await;
        drop(secret_tasks);
        Ok(())
    }
}

/// The service's routes next to the operational ones; a clash is an error, not a panic.
fn merge(ops: Router, routes: Router) -> Result<Router, Error> {
    std::panic::catch_unwind(AssertUnwindSafe(|| ops.merge(routes))).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_default();
        Error::Routes(
            format!(
                "the service's routes clash with the health, metrics or OpenAPI endpoints ({why}); \
                 rename the route or move the endpoints with health.*_path, \
                 telemetry.metrics_path or openapi.path"
            )
            .into(),
        )
    })
}

/// Opens the database, migrates, and builds the routes.
async fn start(
    version: &'static str,
    migrations: Option<&'static crate::db::Migrations>,
    routes: Option<RoutesFn>,
    loaded: Loaded,
    health: Health,
    secret_tasks: &mut SecretTasks,
) -> Result<(Router, Option<Database>), Error> {
    let config = &loaded.config;
    let wants_db =
        migrations.is_some() || config.database.url.is_some() || config.database.secret.is_some();
    let db = if wants_db {
        let db = Database::connect(&config.database, &config.service.name).await?;
        if let (Some(migrations), true) = (migrations, config.database.migrate) {
            migrations.run(&db).await?;
            tracing::info!(backend = %db.kind(), "migrations applied");
        }
        health.register(db.clone());
        secret_tasks.follow_database(&db, &loaded);
        Some(db)
    } else {
        None
    };
    let auth = AuthRuntime::start(&config.auth, &config.service.name, &health)
        .await
        .map_err(|e| ConfigError::invalid(&loaded.figment, &e.key, e.message))?;
    secret_tasks.follow_auth(&auth, &loaded);
    let ctx = Context::new(
        version,
        loaded,
        db.clone(),
        health.clone(),
        auth,
        secret_tasks.secrets(),
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

/// Readiness-first shutdown: 503 on readiness, wait for load balancers, stop accepting, let
/// in-flight requests finish within the deadline, close the pool, flush telemetry.
async fn drain_and_stop(
    config: &Config,
    drain: Drain,
    health: &Health,
    servers: Servers,
    db: Option<Database>,
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
