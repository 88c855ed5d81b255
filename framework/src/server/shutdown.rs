//! Waiting for the process signals that ask a service to stop.

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
