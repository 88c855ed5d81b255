//! Waiting for the process signals that ask a service to stop, and the timing of the stop.
//!
//! The worst case from SIGTERM to exit is `server.drain_delay` + `server.shutdown_timeout` +
//! [`POOL_CLOSE_TIMEOUT`] + [`TRACE_FLUSH_TIMEOUT`]; a deployment's grace period
//! (`terminationGracePeriodSeconds`, ECS `stopTimeout`) must cover it.

use std::time::Duration;

/// Default of `server.drain_delay`: after SIGTERM, how long readiness answers 503 while
/// requests are still served, so that load balancers stop routing to the replica.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);

/// Default of `server.shutdown_timeout`: after the drain delay, how long in-flight requests
/// may take to finish before they are dropped.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest the database pool may take to close, after the in-flight requests.
pub const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest the final flush of buffered spans to the OTLP collector may take, after the pool
/// has closed.
pub const TRACE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Which signal asked the service to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C): a person at a terminal; the drain delay is skipped.
    Interrupt,
    /// SIGTERM: an orchestrator (Kubernetes, ECS, systemd); the drain delay applies.
    Terminate,
}

/// Resolves on the first SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() -> Signal {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => Signal::Interrupt,
        () = terminate => Signal::Terminate,
    }
}
