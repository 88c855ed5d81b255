//! What `run` does, in order: configuration, logging, listener, database, routes, serve, drain.

use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::builder::{RoutesFn, ServiceBuilder};
use super::deferred::Deferred;
use super::secret_tasks::SecretTasks;
use super::{Context, Error};
use crate::config::{Config, Loaded};
use crate::db::Database;
use crate::health::{self, Health};
use crate::secrets::Secrets;
use crate::server::standard_stack;

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

/// A builder whose configuration is loaded and logging installed.
pub(crate) struct Prepared {
    builder: ServiceBuilder,
    loaded: Loaded,
    secrets: Secrets,
}

/// Loads configuration, resolving secret references (failing with every invalid key), installs
/// logging and logs the effective configuration with secrets redacted.
pub(crate) async fn prepare(builder: ServiceBuilder) -> Result<Prepared, Error> {
    let (loaded, secrets) =
        crate::config::load(&builder.sources, &builder.name, &builder.secret_providers).await?;
    crate::telemetry::init(&loaded.config.log, &loaded.config.service.environment);
    tracing::info!(config = %crate::config::report(&loaded), "effective configuration");
    Ok(Prepared {
        builder,
        loaded,
        secrets,
    })
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
            "starting"
        );

        // Health endpoints answer from the first moment; other paths wait for the routes.
        let health = Health::new(config.health.check_timeout);
        for check in builder.checks {
            health.register_arc(check);
        }
        let mut secret_tasks = SecretTasks::start(&secrets);
        let deferred = Deferred::default();
        let app = standard_stack(
            health::router(health.clone(), &config.health).fallback_service(deferred.clone()),
            &config.server,
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .into_future(),
        );

        let startup = start(
            builder.version,
            builder.migrations.is_some()
                || config.database.url.is_some()
                || config.database.secret.is_some(),
            builder.migrations,
            builder.routes,
            loaded,
            health.clone(),
            &mut secret_tasks,
        );
        let db = tokio::select! {
            result = startup => match result {
                Ok((routes, db)) => {
                    deferred.set(routes);
                    health.mark_started();
                    tracing::info!(%addr, elapsed = ?started_at.elapsed(), "ready");
                    db
                }
                Err(e) => {
                    let _ = stop_tx.send(());
                    let _ = server.await;
                    return Err(e);
                }
            },
            _ = &mut shutdown => {
                tracing::info!("shutdown requested during startup");
                let _ = stop_tx.send(());
                let _ = server.await;
                return Ok(());
            }
        };

        let mut server = server;
        let drain = tokio::select! {
            drain = &mut shutdown => drain,
            joined = &mut server => {
                // The server stopped by itself: the accept loop failed.
                if let Some(db) = &db { db.close().await; }
                let source = match joined {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => std::io::Error::other("the server stopped unexpectedly"),
                    Err(e) => std::io::Error::other(e),
                };
                return Err(Error::Serve { addr, source });
            }
        };
        drain_and_stop(&config, drain, &health, stop_tx, server, db).await;
        drop(secret_tasks);
        Ok(())
    }
}

/// Opens the database, migrates, and builds the routes.
async fn start(
    version: &'static str,
    wants_db: bool,
    migrations: Option<&'static crate::db::Migrations>,
    routes: Option<RoutesFn>,
    loaded: Loaded,
    health: Health,
    secret_tasks: &mut SecretTasks,
) -> Result<(axum::Router, Option<Database>), Error> {
    let config = &loaded.config;
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
    let ctx = Context::new(
        version,
        loaded,
        db.clone(),
        health.clone(),
        secret_tasks.secrets(),
    );
    let routes = match routes {
        Some(f) => f(ctx).await.map_err(Error::Routes)?,
        None => axum::Router::new(),
    };
    secret_tasks.register_check(&health);
    Ok((routes, db))
}

/// Readiness-first shutdown: 503 on readiness, wait for load balancers, stop accepting, let
/// in-flight requests finish within the deadline, close the pool.
async fn drain_and_stop(
    config: &Config,
    drain: Drain,
    health: &Health,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    db: Option<Database>,
) {
    health.start_draining();
    let delay = match drain {
        Drain::Delayed => config.server.drain_delay,
        Drain::Immediate => Duration::ZERO,
    };
    tracing::info!(drain_delay = ?delay, "shutting down: readiness is now 503");
    tokio::time::sleep(delay).await;

    let _ = stop_tx.send(());
    let deadline = config.server.shutdown_timeout;
    let abort = server.abort_handle();
    match tokio::time::timeout(deadline, server).await {
        Ok(_) => tracing::info!("all in-flight requests finished"),
        Err(_) => {
            tracing::warn!(deadline = ?deadline, "in-flight requests still running at the deadline; dropping them");
            abort.abort();
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
}
