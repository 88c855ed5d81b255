//! Why a service failed to start or to run.

use std::net::SocketAddr;

use crate::BoxError;
use crate::config::ConfigError;
use crate::db::DbError;

/// A service could not start, or stopped abnormally. Each message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Telemetry (logs, trace export) could not be set up.
    #[error("cannot set up telemetry: {0}")]
    Telemetry(String),
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
    /// The service's route function returned an error.
    #[error("the route function failed: {0}")]
    Routes(#[source] BoxError),
    /// The service stopped, or did not become ready, during startup.
    #[error("the service did not start: {0}")]
    Startup(String),
    /// Serving failed.
    #[error("the server on {addr} failed: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// [`Context::db`](crate::Context::db) was called on a service without a database.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "this service has no database: register migrations with ServiceBuilder::migrations (or #[microservice(migrations = ...)]) or set database.url"
)]
pub struct NoDatabase;
