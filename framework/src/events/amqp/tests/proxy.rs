//! A TCP relay to the real RabbitMQ that a test can cut and restore, to break the adapter's
//! connection the way a network failure or a broker restart does, or freeze, to make the
//! broker look stalled (connections open, nothing answered).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::AbortHandle;

/// Relays 127.0.0.1:`port` to the broker while it is open.
pub(super) struct Proxy {
    pub(super) port: u16,
    open: Arc<AtomicBool>,
    /// `true` while frozen: bytes are held, not forwarded.
    frozen: watch::Sender<bool>,
    relays: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    pub(super) async fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let open = Arc::new(AtomicBool::new(true));
        let (frozen, frozen_rx) = watch::channel(false);
        let relays = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let accept = tokio::spawn({
            let (open, relays) = (open.clone(), relays.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // Dropped: the client sees the connection close.
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        continue;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let mut relays = relays.lock().await;
                    for (from, to) in [
                        (
                            Box::new(client_read) as Box<dyn AsyncRead + Send + Unpin>,
                            Box::new(server_write) as Box<dyn AsyncWrite + Send + Unpin>,
                        ),
                        (Box::new(server_read), Box::new(client_write)),
                    ] {
                        let relay = tokio::spawn(pump(from, to, frozen_rx.clone()));
                        relays.push(relay.abort_handle());
                    }
                }
            }
        })
        .abort_handle();
        Self {
            port,
            open,
            frozen,
            relays,
            accept,
        }
    }

    /// Closes every relayed connection and refuses new ones.
    pub(super) async fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for relay in self.relays.lock().await.drain(..) {
            relay.abort();
        }
    }

    /// Relays new connections again.
    pub(super) fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Holds every byte until [`Proxy::thaw`]; connections stay open.
    pub(super) fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Forwards again, held bytes first.
    pub(super) fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// Copies `from` to `to`, holding each chunk while frozen.
async fn pump(
    mut from: Box<dyn AsyncRead + Send + Unpin>,
    mut to: Box<dyn AsyncWrite + Send + Unpin>,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !frozen).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut relays) = self.relays.try_lock() {
            for relay in relays.drain(..) {
                relay.abort();
            }
        }
    }
}
