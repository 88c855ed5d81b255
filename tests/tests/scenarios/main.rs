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

use serde_json::json;
use servicekit_tests::{SchoolClient, ServiceProcess, binary};
use tokio::sync::Notify;

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

/// The example services' API on `service`, through `client`.
fn api(client: &reqwest::Client, service: &ServiceProcess) -> SchoolClient {
    SchoolClient::with_client(client.clone(), service.url(""))
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
    /// Told of every new outcome, so [`Load::wait_for`] wakes without polling.
    recorded: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            stop: Arc::default(),
            outcomes: Arc::default(),
            recorded: Arc::default(),
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
        let (started, stop, outcomes, recorded) = (
            self.started,
            self.stop.clone(),
            self.outcomes.clone(),
            self.recorded.clone(),
        );
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
                recorded.notify_waiters();
                i += 1;
                // The load's pace: one request every `pause` per loop.
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

    /// Waits until an outcome matches `pred` or `timeout` passes; returns it.
    async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Outcome) -> bool,
    ) -> Option<Outcome> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so an outcome recorded in between still wakes it.
            let recorded = self.recorded.notified();
            if let Some(found) = self.outcomes.lock().unwrap().iter().find(|o| pred(o)) {
                return Some(found.clone());
            }
            tokio::time::timeout_at(deadline, recorded).await.ok()?;
        }
    }

    /// Student-service under load: two loops listing students (`list`) and one creating them
    /// (`create`).
    fn students(&mut self, client: &reqwest::Client, service: &ServiceProcess) {
        for _ in 0..2 {
            let (c, url) = (client.clone(), service.url("/students?limit=5"));
            self.spawn("list", Duration::from_millis(10), move |_| c.get(&url));
        }
        let (c, url) = (client.clone(), service.url("/students"));
        self.spawn("create", Duration::from_millis(20), move |_| {
            let email = format!("{}@example.org", uuid::Uuid::new_v4().simple());
            c.post(&url).json(&json!({"name": "Ada", "email": email}))
        });
    }

    /// Four loops enrolling `students` in turn in `subject` on subject-service (`enrol`); each
    /// enrolment asks student-service whether the student exists, a repeated one is 409.
    fn enrolments(
        &mut self,
        client: &reqwest::Client,
        subjects: &ServiceProcess,
        subject: &str,
        students: &[String],
    ) {
        let url = subjects.url(&format!("/subjects/{subject}/enrolments"));
        for _ in 0..4 {
            let (client, url, ids) = (client.clone(), url.clone(), students.to_vec());
            self.spawn("enrol", Duration::from_millis(5), move |i| {
                client
                    .post(&url)
                    .json(&json!({"student_id": ids[i as usize % ids.len()]}))
            });
        }
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
