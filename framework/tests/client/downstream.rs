//! A downstream on 127.0.0.1 whose answers the test scripts: statuses, delays, `Retry-After`,
//! dropped connections. It counts hits and keeps the headers it saw.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use servicekit::client::{ClientConfig, ServiceClient};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// One answer.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Status(u16),
    Delay(Duration),
    RetryAfter(u16, String),
}

#[derive(Default)]
struct Shared {
    hits: AtomicUsize,
    script: Mutex<VecDeque<Answer>>,
    otherwise: Mutex<Option<Answer>>,
    seen: Mutex<Vec<HeaderMap>>,
}

/// A running scripted downstream.
#[derive(Clone)]
pub(crate) struct Downstream {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Downstream {
    /// Starts a downstream that answers `otherwise` once the script is used up.
    pub(crate) async fn start(otherwise: Answer) -> Self {
        let shared = Arc::new(Shared::default());
        *shared.otherwise.lock().unwrap() = Some(otherwise);
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, shared }
    }

    /// Answers these first, in order.
    pub(crate) fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    /// Changes the answer once the script is used up.
    pub(crate) fn answer(&self, answer: Answer) {
        *self.shared.otherwise.lock().unwrap() = Some(answer);
    }

    pub(crate) fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The headers of every request received.
    pub(crate) fn seen(&self) -> Vec<HeaderMap> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    shared.seen.lock().unwrap().push(headers);
    let answer = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| shared.otherwise.lock().unwrap().clone())
        .unwrap();
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Delay(d) => {
            // A slow downstream.
            tokio::time::sleep(d).await;
            "late".into_response()
        }
        Answer::RetryAfter(code, value) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", value)],
        )
            .into_response(),
    }
}

/// A server that accepts connections, reads the request and closes the connection without an
/// answer (as a crashing process or a reset does). Returns its address and a connection count.
pub(crate) async fn dropping_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    (addr, count)
}

/// An address where nothing listens (a port that was bound and released).
pub(crate) async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A configuration with fast backoff and a breaker that stays out of the way.
pub(crate) fn config(base_url: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base_url);
    c.retry.base_backoff = Duration::from_millis(1);
    c.retry.max_backoff = Duration::from_millis(5);
    c.breaker.enabled = false;
    c
}

pub(crate) fn client(config: &ClientConfig) -> ServiceClient {
    ServiceClient::new("downstream", config).unwrap()
}
