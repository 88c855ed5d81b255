//! Every way a database can be unreachable is a 503, never a 500: student-service reaches its
//! database (PostgreSQL, then MySQL/MariaDB) through a TCP relay in the test that can also
//! (a) accept and close at once, as a proxy or load balancer without a healthy target does,
//! (b) accept and never answer, closing the socket seconds later (a blackhole), and
//! (c) stop listening (connection refused). Under a steady load each fault must give only
//! 2xx or 503 problem+json answers; once readiness reports the database down, a request's 503
//! must come well under the 5 s acquire timeout and say "unreachable"; and when the relay
//! forwards again the service recovers by itself.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use servicekit::testing::TestDatabase;
use servicekit_tests::ServiceProcess;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::{Load, Outcome, ready, statuses, student_exe};

/// How long the blackhole holds a connection before closing it (under the acquire timeout, so
/// that the close, not only the timeout, reaches the pool).
const HOLD: Duration = Duration::from_secs(3);
/// The bound on a 503 once readiness knows the database is down (the acquire timeout is 5 s).
const FAST: Duration = Duration::from_secs(1);

/// What the relay does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Relays to the real database.
    Forward,
    /// Accepts and closes at once.
    CloseAtOnce,
    /// Accepts, never answers, closes after [`HOLD`].
    Blackhole,
    /// Does not listen: connections are refused.
    Refuse,
}

/// A TCP relay in front of the database whose behaviour the test switches.
struct FaultRelay {
    port: u16,
    upstream: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// The tasks of accepted connections; aborted (their sockets closed) on every switch.
    connections: Arc<Mutex<JoinSet<()>>>,
    listener: Option<JoinHandle<()>>,
}

impl FaultRelay {
    fn start(upstream: SocketAddr) -> Self {
        let port = servicekit_tests::free_port();
        let mut relay = Self {
            port,
            upstream,
            mode: Arc::new(Mutex::new(Mode::Forward)),
            connections: Arc::new(Mutex::new(JoinSet::new())),
            listener: None,
        };
        relay.listen();
        relay
    }

    fn listen(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .unwrap();
        let listener: TcpListener = socket.listen(1024).unwrap();
        let (mode, connections, upstream) =
            (self.mode.clone(), self.connections.clone(), self.upstream);
        self.listener = Some(tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let mode = *mode.lock().unwrap();
                let mut connections = connections.lock().unwrap();
                match mode {
                    Mode::Forward => {
                        connections.spawn(async move {
                            let mut client = client;
                            if let Ok(mut server) = TcpStream::connect(upstream).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                    }
                    Mode::CloseAtOnce | Mode::Refuse => drop(client),
                    Mode::Blackhole => {
                        connections.spawn(async move {
                            // A blackhole: the connection is held open, never answered.
                            tokio::time::sleep(HOLD).await;
                            drop(client);
                        });
                    }
                }
            }
        }));
    }

    /// Switches to `mode`, closing every connection accepted so far.
    fn set(&mut self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        self.connections.lock().unwrap().abort_all();
        match (mode, self.listener.is_some()) {
            (Mode::Refuse, true) => {
                self.listener.take().unwrap().abort();
            }
            (Mode::Refuse, false) | (_, true) => {}
            (_, false) => self.listen(),
        }
    }

    /// `url` with its host and port replaced by the relay's.
    fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }
}

impl Drop for FaultRelay {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
        self.connections.lock().unwrap().abort_all();
    }
}

/// The address `url` points at.
fn address_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    let host = url.host_str().unwrap();
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    SocketAddr::new(host.parse().unwrap(), url.port_or_known_default().unwrap())
}

/// What one fault did.
struct Figures {
    mode: Mode,
    unready_after: Duration,
    fast_503s: Vec<Duration>,
    recovered_after: Duration,
}

/// Applies `mode`, checks the fast 503 once readiness is 503, restores, waits for recovery.
async fn fault(
    relay: &mut FaultRelay,
    service: &ServiceProcess,
    load: &Load,
    mode: Mode,
) -> Figures {
    relay.set(mode);
    let unready_after = service
        .wait_for_status("/health/ready", 503, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("{mode:?}: readiness never turned 503"));

    // Readiness knows: requests fail fast, with a problem that says "unreachable".
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut fast_503s = Vec::new();
    for _ in 0..5 {
        let sent = Instant::now();
        let res = client
            .get(service.url("/students?limit=5"))
            .send()
            .await
            .unwrap();
        let elapsed = sent.elapsed();
        let status = res.status().as_u16();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        let retry_after = res.headers().get("retry-after").cloned();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(status, 503, "{mode:?}: {body}");
        assert_eq!(content_type, "application/problem+json", "{mode:?}");
        assert!(retry_after.is_some(), "{mode:?}: no Retry-After");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("unreachable"), "{mode:?}: {body}");
        assert!(
            elapsed < FAST,
            "{mode:?}: a 503 took {elapsed:?} although readiness already reported the database down"
        );
        fast_503s.push(elapsed);
        // Five probes spread over half a second of the fault.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the fault last a little longer under load.
    tokio::time::sleep(Duration::from_secs(1)).await;

    relay.set(Mode::Forward);
    let restored_at = load.now();
    let recovered_after = service
        .wait_for_status("/health/ready", 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("{mode:?}: readiness never recovered"));
    for kind in ["list", "create"] {
        load.wait_for(Duration::from_secs(30), |o| {
            o.at > restored_at && o.kind == kind && o.is(&[200, 201])
        })
        .await
        .unwrap_or_else(|| panic!("{mode:?}: {kind} requests do not recover"));
    }
    Figures {
        mode,
        unready_after,
        fast_503s,
        recovered_after,
    }
}

async fn every_fault_is_a_503(db: TestDatabase) {
    let mut relay = FaultRelay::start(address_of(db.url()));
    let url = relay.url_for(db.url());
    let service = ServiceProcess::start(&student_exe(), &[("DATABASE_URL", url.as_str())]);
    ready(&service).await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut load = Load::new();
    load.students(&client, &service);
    load.wait_for(Duration::from_secs(30), |o| {
        o.kind == "create" && o.is(&[201])
    })
    .await
    .expect("the service works through the relay");

    let mut figures = Vec::new();
    for mode in [Mode::CloseAtOnce, Mode::Blackhole, Mode::Refuse] {
        figures.push(fault(&mut relay, &service, &load, mode).await);
    }
    let outcomes = load.stop().await;

    let bad: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !(o.is(&[200, 201]) || o.is_problem_503()))
        .collect();
    let all: Vec<&Outcome> = outcomes.iter().collect();
    println!(
        "{}: {} requests: {}",
        db.kind(),
        outcomes.len(),
        statuses(&all)
    );
    for f in &figures {
        println!(
            "  {:?}: readiness 503 after {:?}; 503s then took {:?}; recovered {:?} after restore",
            f.mode, f.unready_after, f.fast_503s, f.recovered_after
        );
    }
    assert!(
        bad.is_empty(),
        "{} answers neither 2xx nor 503 problem+json, e.g. {:?}\nstderr:\n{}",
        bad.len(),
        &bad[..bad.len().min(3)],
        service.stderr()
    );
    assert!(
        outcomes.iter().any(Outcome::is_problem_503),
        "the faults should have produced 503s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_unreachable_in_every_way_is_a_fast_503_and_recovers() {
    every_fault_is_a_503(TestDatabase::postgres().await.expect("test PostgreSQL")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_unreachable_in_every_way_is_a_fast_503_and_recovers() {
    every_fault_is_a_503(TestDatabase::mysql().await.expect("test MySQL/MariaDB")).await;
}
