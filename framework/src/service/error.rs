//! Why a service failed to start or to run.

use std::net::SocketAddr;

use crate::BoxError;
use crate::config::ConfigError;
use crate::db::DbError;
use crate::telemetry::TelemetryError;

/// A service could not start, or stopped abnormally. Each message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Telemetry (logs, trace export) could not be set up.
    #[error("cannot set up telemetry: {0}")]
    Telemetry(#[from] TelemetryError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}; fix: free the port or set PORT / server.port")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The OpenAPI document given to [`ServiceBuilder::openapi`] could not be serialized.
    ///
    /// [`ServiceBuilder::openapi`]: crate::ServiceBuilder
    #[error(
        "cannot serialize the OpenAPI document for openapi.path: {0}; fix: check the \
         document's schemas and extensions (every map key must be a string)"
    )]
    OpenApi(#[source] serde_json::Error),
    /// The service's routes clash with the health, metrics or OpenAPI endpoints.
    #[error(
        "the service's routes clash with the health, metrics or OpenAPI endpoints ({reason}); \
         fix: rename the route or move the endpoints with health.*_path, \
         telemetry.metrics_path or openapi.path"
    )]
    RouteClash {
        /// axum's explanation (the overlapping path).
        reason: String,
    },
    /// The events runtime could not start: the outbox and inbox tables could not be created,
    /// or `events.url` is malformed.
    #[error("events: {0}")]
    Events(#[source] BoxError),
    /// The service's route function returned an error.
    #[error("the route function failed: {0}")]
    Routes(#[source] BoxError),
    /// The service stopped, or did not become ready, during startup.
    #[error("the service did not start: {0}")]
    Startup(#[from] StartupError),
    /// Serving failed.
    #[error("the server on {addr} failed: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Why a started service did not become ready.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The service stopped before its startup probe answered 200.
    #[error("it stopped before it was ready")]
    StoppedBeforeReady,
    /// The startup probe did not answer 200 in time.
    #[error("{url} did not answer 200 within {within:?}")]
    NotReady {
        /// The startup probe's URL.
        url: String,
        /// How long it was given.
        within: std::time::Duration,
    },
}

/// [`Context::db`](crate::Context::db) or [`Context::db_as`](crate::Context::db_as) was called
/// on a service without a database, or asked for another driver than the service declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct NoDatabase {
    /// `(declared, asked)` driver names when the service has a pool of another driver.
    mismatch: Option<(&'static str, &'static str)>,
}

impl NoDatabase {
    /// The service has no pool at all.
    pub(crate) const NONE: Self = Self { mismatch: None };

    /// The service's pool is of driver `declared`, the code asked for `asked`.
    pub(crate) fn other_driver(declared: &'static str, asked: &'static str) -> Self {
        Self {
            mismatch: Some((declared, asked)),
        }
    }

    fn message(&self) -> String {
        match self.mismatch {
            None => "this service has no database: register migrations with \
                     ServiceBuilder::migrations (or #[microservice(migrations = ...)]), declare \
                     one with ServiceBuilder::database::<..>(), or set database.url"
                .to_string(),
            Some((declared, asked)) => {
                let call = |driver: &str| {
                    if driver == "sqlx::Any" {
                        "ctx.db()".to_string()
                    } else {
                        format!("ctx.db_as::<{driver}>()")
                    }
                };
                format!(
                    "the service's pool is Database<{declared}>, not Database<{asked}>; ask for it \
                     with {}, or declare the driver you want with ServiceBuilder::database::<{asked}>()",
                    call(declared)
                )
            }
        }
    }
}
