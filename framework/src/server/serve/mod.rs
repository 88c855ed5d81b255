//! The accept loop: HTTP/1 and HTTP/2 connections with a header read timeout, a connection
//! cap, a polite drain and graceful shutdown.
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
//! With `[server.tls]` (feature `tls`) each accepted connection first completes a TLS handshake
//! on its own task, within `header_read_timeout`, and is then served as above; the plain path
//! is unchanged.
//!
//! Shutdown has two phases ([`Phase`]):
//! - **Draining** (after SIGTERM, while readiness is 503 and load balancers deregister the
//!   instance): the listener still accepts, but every HTTP/1 response carries
//!   `Connection: close`, so each client's kept-alive connection is closed right after its next
//!   answer and the client reconnects, to this instance while it still accepts or to another.
//!   Without it, clients keep reusing their connections until the listener closes and a few
//!   requests per shutdown race with the close and fail with an EOF.
//! - **Stopping**: connections the kernel completed but the loop did not accept yet are
//!   accepted and served (closing the listener would reset them), then the listener closes.
//!   Idle kept-alive connections are closed at once, busy ones after their response, and a
//!   connection accepted moments ago gets up to [`FIRST_REQUEST_GRACE`] to send its request
//!   (hyper would otherwise drop it unanswered). HTTP/2 connections get GOAWAY here; their
//!   open streams finish.

mod service;
mod timer;

use std::convert::Infallible;
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tower::Service;

use service::ConnectionService;

/// How long a connection accepted just before the listener closes may take to send its first
/// request before it is closed unanswered.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

/// Where a server is in its life; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Serving normally.
    Serving,
    /// Accepting, but closing each HTTP/1 connection after its next response.
    Draining,
    /// Listener closed; open requests finish.
    Stopping,
}

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
    pub(crate) fn from_config(server: &super::ServerConfig) -> Self {
        Self {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            max_connections: (server.max_connections > 0).then_some(server.max_connections),
        }
    }
}

/// Whether a connection has delivered its first request head.
#[derive(Debug, Default)]
struct Started {
    flag: AtomicBool,
    notify: Notify,
}

impl Started {
    fn set(&self) {
        // A load first: after the first request this is all a request costs.
        if !self.get() && !self.flag.swap(true, Ordering::AcqRel) {
            self.notify.notify_waiters();
        }
    }

    fn get(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Resolves once the first request head arrived.
    async fn wait(&self) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if !self.get() {
            notified.await;
        }
    }
}

/// What every connection of one listener shares.
struct Shared<S> {
    app: S,
    builder: Builder<TokioExecutor>,
    limits: ConnectionLimits,
    phase: watch::Receiver<Phase>,
    /// Dropped by each connection task when it ends; `serve` waits for all of them.
    open: mpsc::Sender<()>,
    /// The TLS handshake run before a connection is served (`[server.tls]`); `None` is plain.
    tls: Option<crate::tls::ServerTls>,
}

/// What the accept loop serves: the standard stack, cloned onto each connection's task.
pub(crate) trait App:
    Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `app` on `listener` until `phase` reaches [`Phase::Stopping`], then stops accepting
/// and waits for the open connections to finish their requests.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    mut phase: watch::Receiver<Phase>,
    tls: Option<crate::tls::ServerTls>,
) -> std::io::Result<()>
where
    S: App,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        // Replaced by each connection's own timer in `serve_connection`.
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    builder.http2().timer(TokioTimer::new());
    let permits = limits.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let shared = Arc::new(Shared {
        app,
        builder,
        limits,
        phase: phase.clone(),
        open,
        tls,
    });
    let stopping = async move {
        let _ = phase.wait_for(|p| *p == Phase::Stopping).await;
    };
    let mut stopping = std::pin::pin!(stopping);

    loop {
        let permit = tokio::select! {
            permit = acquire(permits.as_ref()) => permit,
            () = &mut stopping => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        spawn_connection(&shared, stream, peer, permit);
    }

    accept_backlog(listener, &shared, permits.as_ref());
    drop(shared);
    // Every connection task holds a sender; `recv` returns `None` once all have ended.
    let _ = all_closed.recv().await;
    Ok(())
}

/// Accepts the connections already waiting in the backlog, which closing the listener would
/// reset, and closes the listener.
fn accept_backlog<S>(
    listener: TcpListener,
    shared: &Arc<Shared<S>>,
    permits: Option<&Arc<Semaphore>>,
) where
    S: App,
{
    // The std listener accepts with a plain non-blocking syscall, so it sees every connection
    // the kernel holds, not only those the runtime was told about.
    let Ok(listener) = listener.into_std() else {
        return;
    };
    loop {
        let permit = match permits {
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => break,
            },
            None => None,
        };
        let Ok((stream, peer)) = listener.accept() else {
            break;
        };
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream));
        if let Ok(stream) = stream {
            spawn_connection(shared, stream, peer, permit);
        }
    }
}

/// Serves one connection on its own task, after a TLS handshake when the listener has TLS.
fn spawn_connection<S>(
    shared: &Arc<Shared<S>>,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    permit: Option<OwnedSemaphorePermit>,
) where
    S: App,
{
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => serve_connection(shared, stream, peer, permit, None),
        Some(tls) => spawn_handshake(shared, tls.clone(), stream, peer, permit),
    }
}

/// Runs the TLS handshake on its own task (within `header_read_timeout`), then serves the
/// connection; a failed handshake (no or an untrusted client certificate) closes it.
fn spawn_handshake<S>(
    shared: &Arc<Shared<S>>,
    tls: crate::tls::ServerTls,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    permit: Option<OwnedSemaphorePermit>,
) where
    S: App,
{
    // The task holds `shared`, and with it a sender of `open`: shutdown waits for it too.
    let shared = shared.clone();
    tokio::spawn(async move {
        match tls.accept(stream, shared.limits.header_read_timeout).await {
            Ok((stream, extensions)) => {
                serve_connection(&shared, stream, peer, permit, extensions);
            }
            Err(e) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
        }
    });
}

/// Serves one established connection on its own task; `extensions` (the TLS peer identity)
/// are added to each of its requests.
fn serve_connection<S, I>(
    shared: &Arc<Shared<S>>,
    stream: I,
    peer: std::net::SocketAddr,
    permit: Option<OwnedSemaphorePermit>,
    extensions: Option<axum::http::Extensions>,
) where
    S: App,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Set once the connection delivered its first request head; until then the connection is
    // on the clock, whatever protocol it turns out to speak.
    let started = Arc::new(Started::default());
    let service = ConnectionService {
        shared: shared.clone(),
        started: started.clone(),
        extensions: service::request_extensions(peer, extensions),
    };
    // Each connection's header read timer keeps its tokio sleep between heads (`timer.rs`).
    let mut builder = shared.builder.clone();
    builder.http1().timer(timer::ConnectionTimer::default());
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .into_owned();
    let timeout = shared.limits.header_read_timeout;
    let mut phase = shared.phase.clone();
    let open = shared.open.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let _open = open;
        let mut conn = std::pin::pin!(conn);
        let first_request = async {
            tokio::time::sleep(timeout).await;
            if started.get() {
                pending::<()>().await;
            }
        };
        let mut first_request = std::pin::pin!(first_request);
        let stop = async {
            let _ = phase.wait_for(|p| *p == Phase::Stopping).await;
            // A connection accepted moments ago gets a moment to send its request.
            let _ = tokio::time::timeout(FIRST_REQUEST_GRACE, started.wait()).await;
        };
        let mut stop = std::pin::pin!(stop);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection error");
                    }
                    break;
                }
                () = &mut stop, if !stopping => {
                    stopping = true;
                    // Closes an idle HTTP/1 connection now and a busy one after its response;
                    // sends GOAWAY on HTTP/2.
                    conn.as_mut().graceful_shutdown();
                }
                () = &mut first_request, if !stopping => {
                    tracing::debug!(?timeout, "closing a connection that sent no request head in time");
                    break;
                }
            }
        }
    });
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
