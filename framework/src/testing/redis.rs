//! [`RedisServer`]: a private `redis-server` for the tests that stop and start Redis.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use super::eventually;

/// A `redis-server` of the test's own on a free port, saving nothing, killed on drop.
///
/// The machine's shared Redis serves most tests (each under its own key prefix); a test that
/// stops Redis under load, flushes scripts or needs TLS starts one of these instead, so other
/// tests never see the outage. Needs `redis-server` on `PATH` (Debian: `redis-server`).
///
/// ```no_run
/// # async fn test() {
/// use servicekit::testing::RedisServer;
///
/// let mut redis = RedisServer::start().await;
/// let url = redis.url(); // "redis://127.0.0.1:<port>", for `cache.url`
/// redis.stop(); // as in a crash: connections drop at once
/// redis.resume().await; // the same port again, empty
/// # }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a plain one on a free port and waits until it listens.
    pub async fn start() -> Self {
        Self::start_with(|port| vec!["--port".into(), port.to_string()]).await
    }

    /// Starts one with the arguments `args` returns for the free port (which must include
    /// `--port <port>`, or `--port 0 --tls-port <port>` for TLS), and waits until it listens.
    pub async fn start_with(args: impl FnOnce(u16) -> Vec<String>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port on 127.0.0.1")
            .port();
        let mut server = Self {
            port,
            args: args(port),
            child: None,
        };
        server.resume().await;
        server
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (empty: it saves nothing) and waits until it listens.
    pub async fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt install redis-server)");
        self.child = Some(child);
        let port = self.port;
        eventually(|| async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .map(drop)
        })
        .await;
    }

    /// Kills it (connections drop at once, as in a crash or a failover).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
