//! The accept loop: HTTP/1 and HTTP/2 connections with a header read timeout, a connection
//! cap and graceful shutdown.
//!
//! `axum::serve` has neither a header read timeout nor a connection cap, so a few hundred
//! clients that open connections and send nothing (or drip header bytes, "slowloris") hold
//! sockets and tasks forever. This loop is `axum::serve` plus these limits:
//! - a connection must deliver its first complete request head within `header_read_timeout`
//!   of being accepted, whatever protocol it speaks; otherwise it is closed;
//! - a kept-alive HTTP/1 connection must deliver the next request head within `idle_timeout`
//!   of the previous response (hyper's header read timer). This is longer than the first
//!   deadline on purpose: load balancers keep idle connections to their targets (AWS: 60 s)
//!   and a target that closes them sooner races with the balancer's next request (502s);
//! - at most `max_connections` connections are served at once; further ones wait in the
//!   listen backlog until one closes (as mini-redis does), so a flood cannot exhaust file
//!   descriptors or memory.
//!
//! On shutdown the listener closes, idle connections close, and requests in flight finish.

use std::convert::Infallible;
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Service, ServiceExt};

/// The limits [`serve`] applies to connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Longest wait for the first complete request head of a connection.
    pub(crate) header_read_timeout: Duration,
    /// Longest wait for the next request head of a kept-alive HTTP/1 connection.
    pub(crate) idle_timeout: Duration,
    /// Most connections served at once; `None` is unlimited.
    pub(crate) max_connections: Option<usize>,
}

impl ConnectionLimits {
    /// The limits of `[server]`: `max_connections = 0` means unlimited.
    pub(crate) fn from_config(server: &crate::config::ServerConfig) -> Self {
        Self {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            max_connections: (server.max_connections > 0).then_some(server.max_connections),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections to finish their requests.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let permits = limits.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = acquire(permits.as_ref()) => permit,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);

        // Set once the connection delivered its first request head; until then the
        // connection is on the clock, whatever protocol it turns out to speak.
        let started = Arc::new(AtomicBool::new(false));
        let service = {
            let started = started.clone();
            let app = app.clone();
            TowerToHyperService::new(tower::service_fn(move |req: Request<Incoming>| {
                started.store(true, Ordering::Relaxed);
                let mut req = req.map(Body::new);
                // The peer address, as axum's `into_make_service_with_connect_info` gives it
                // (the rate limiter's `ip` key reads it).
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            }))
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        let timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let first_request = async {
                tokio::time::sleep(timeout).await;
                if started.load(Ordering::Relaxed) {
                    pending::<()>().await;
                }
            };
            tokio::select! {
                result = conn => if let Err(e) = result {
                    tracing::trace!(error = %e, "connection error");
                },
                () = first_request => {
                    tracing::debug!(?timeout, "closing a connection that sent no request head in time");
                }
            }
        });
    }

    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A connection slot, waiting while all are taken; `None` when there is no cap.
async fn acquire(permits: Option<&Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    match permits {
        // The semaphore is never closed, so acquiring cannot fail.
        Some(permits) => permits.clone().acquire_owned().await.ok(),
        None => None,
    }
}

/// Per-connection errors (the peer went away) are ignored; others (out of file descriptors)
/// are logged and accepting pauses for a second, as hyper 0.14 and `axum::serve` do.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept error; pausing for 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
