//! A TCP relay to the real RabbitMQ that a test can cut and restore, to break the adapter's
//! connection the way a network failure or a broker restart does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::AbortHandle;

/// Relays 127.0.0.1:`port` to the broker while it is open.
pub(super) struct Proxy {
    pub(super) port: u16,
    open: Arc<AtomicBool>,
    relays: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    pub(super) async fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let open = Arc::new(AtomicBool::new(true));
        let relays = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let accept = tokio::spawn({
            let (open, relays) = (open.clone(), relays.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // Dropped: the client sees the connection close.
                    }
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        continue;
                    };
                    let relay = tokio::spawn(async move {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                    relays.lock().await.push(relay.abort_handle());
                }
            }
        })
        .abort_handle();
        Self {
            port,
            open,
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
