//! Fault scenarios on the real example binaries: each test states one promise and fails when
//! it breaks. `docs/reliability.md` lists them with the figures they observed.
//!
//! - `slow_clients`: slowloris and idle connections are closed by the header read timeout and
//!   do not starve normal requests; the connection cap holds further connections back.
//! - `downstream_outage`: student-service killed under enrolment load: the breaker opens,
//!   enrolments answer 503 quickly, reads go on, and it recovers after a restart.
//! - `database_outage`: PostgreSQL connections killed and the database closed under load:
//!   readiness 503, liveness 200, no request past its timeout, recovery without restart.
//! - `database_faults`: a relay in front of PostgreSQL and MariaDB that accepts and closes,
//!   blackholes, or refuses: only 2xx or 503 problem+json, a fast 503 once readiness knows the
//!   database is down, and recovery when the relay forwards again.
//! - `deadlines`: a POST past a trusted caller's 1 ms deadline answers 504 and saves nothing;
//!   an untrusted caller's deadline header is ignored.
//! - `rolling_restart`: two student-service instances replaced one after the other under load
//!   through subject-service's client: zero failed requests.

mod database_faults;
mod database_outage;
mod deadlines;
mod downstream_outage;
mod rolling_restart;
mod slow_clients;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use servicekit_tests::{ServiceProcess, binary};

/// The student-service binary.
fn student_exe() -> PathBuf {
    binary("student-service", "student-service")
}

/// The subject-service binary.
fn subject_exe() -> PathBuf {
    binary("subject-service", "subject-service")
}

/// Waits until `service` is ready, failing the test with its logs otherwise.
async fn ready(service: &ServiceProcess) {
    if service
        .wait_for_status("/health/ready", 200, Duration::from_secs(60))
        .await
        .is_none()
    {
        panic!(
            "{} never became ready\nstdout:\n{}\nstderr:\n{}",
            service.url(""),
            service.stdout(),
            service.stderr()
        );
    }
}

/// `POST {base}{path}` with `body`, expecting 201; returns the new resource's id.
async fn create(client: &reqwest::Client, url: String, body: Value) -> String {
    let res = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "POST {url}");
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// Creates `n` students on student-service; returns their ids.
async fn students(client: &reqwest::Client, service: &ServiceProcess, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"name": format!("Student {i}"), "email": format!("s{i}-{}@example.org", uuid::Uuid::new_v4().simple())});
        ids.push(create(client, service.url("/students"), body).await);
    }
    ids
}

/// Creates a subject on subject-service; returns its id.
async fn subject(client: &reqwest::Client, service: &ServiceProcess, code: &str) -> String {
    let body = json!({"code": code, "title": "Programming", "credits": 6});
    create(client, service.url("/subjects"), body).await
}

/// The outcome of one request made by a load generator.
#[derive(Debug, Clone)]
struct Outcome {
    /// Which kind of request (the name given to [`Load::spawn`]).
    kind: &'static str,
    /// When it was sent, relative to the start of the load.
    at: Duration,
    /// How long it took, body included.
    elapsed: Duration,
    /// The status, or `None` for a transport error.
    status: Option<u16>,
    /// The `content-type` of the response.
    content_type: Option<String>,
    /// The body of a response that is not 2xx, or the transport error.
    detail: String,
}

impl Outcome {
    /// A 503 answered as problem+json.
    fn is_problem_503(&self) -> bool {
        self.status == Some(503) && self.content_type.as_deref() == Some("application/problem+json")
    }

    /// Whether the status is one of `ok`.
    fn is(&self, ok: &[u16]) -> bool {
        self.status.is_some_and(|s| ok.contains(&s))
    }
}

/// Concurrent request loops, each repeating one kind of request until [`Load::stop`], every
/// outcome recorded.
struct Load {
    started: Instant,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            stop: Arc::default(),
            outcomes: Arc::default(),
            tasks: Vec::new(),
        }
    }

    /// Starts a loop sending `request(i)` for i = 0, 1, 2, ... with a pause of `pause` between
    /// requests.
    fn spawn(
        &mut self,
        kind: &'static str,
        pause: Duration,
        request: impl Fn(u64) -> reqwest::RequestBuilder + Send + 'static,
    ) {
        let (started, stop, outcomes) = (self.started, self.stop.clone(), self.outcomes.clone());
        self.tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let at = started.elapsed();
                let sent = Instant::now();
                let (status, content_type, detail) = match request(i).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let content_type = res
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let detail = match res.text().await {
                            Ok(_) if status < 300 => String::new(),
                            Ok(body) => body,
                            Err(e) => format!("body: {e:?}"),
                        };
                        (Some(status), content_type, detail)
                    }
                    Err(e) => (None, None, format!("{e:?}")),
                };
                let outcome = Outcome {
                    kind,
                    at,
                    elapsed: sent.elapsed(),
                    status,
                    content_type,
                    detail,
                };
                outcomes.lock().unwrap().push(outcome);
                i += 1;
                tokio::time::sleep(pause).await;
            }
        }));
    }

    /// Time since the load started.
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// The outcomes so far.
    fn outcomes(&self) -> Vec<Outcome> {
        self.outcomes.lock().unwrap().clone()
    }

    /// Polls until an outcome matches `pred` or `timeout` passes; returns it.
    async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Outcome) -> bool,
    ) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(found) = self.outcomes.lock().unwrap().iter().find(|o| pred(o)) {
                return Some(found.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Stops the loops, waits for their last requests, and returns every outcome.
    async fn stop(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            task.await.expect("load loop");
        }
        self.outcomes()
    }
}

/// A one-line summary of the statuses in `outcomes`, e.g. `201 x40, 503 x12`.
fn statuses(outcomes: &[&Outcome]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for o in outcomes {
        let key = o.status.map_or("error".to_string(), |s| s.to_string());
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `p`-th percentile (0-100) of `values`, which must not be empty.
fn percentile(values: &[Duration], p: usize) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) * p / 100]
}
