//! Helpers for end-to-end tests that run the real service binaries.
//!
//! [`binary`] builds a workspace binary (a no-op when it is fresh) and returns its path;
//! [`ServiceProcess`] runs it on a free port with a clean environment and kills it on drop;
//! [`OtlpReceiver`] and [`parse_prometheus`] are real protocol peers for the telemetry tests;
//! [`SchoolClient`] creates the students, subjects and enrolments many tests start from.

#[cfg(doctest)]
mod docs;
mod peers;
mod school;

pub use peers::{OtlpReceiver, parse_prometheus};
pub use school::{SchoolClient, enrol_new_student};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A failure message that `servicekit::testing::eventually` prints as it is, line breaks and
/// all (its `Debug` is the text), for messages that carry a service's logs.
pub struct Verbatim(pub String);

impl std::fmt::Debug for Verbatim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Environment variables a test must not inherit, so each test sets exactly what it means.
const INHERITED_CONFIG: &[&str] = &["PORT", "DATABASE_URL", "RUST_LOG", "SERVICEKIT_ENV"];

/// Builds `bin` of `package` with the cargo running the tests and returns its path.
///
/// The build selects the whole workspace with all features and its test targets, as
/// `scripts/test` does, so cargo resolves the same features (dev-dependencies included) and
/// finds the binary the test run has already built fresh: a few seconds instead of a second
/// build of servicekit and its dependencies with another feature set.
pub fn binary(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--message-format=json",
            "--workspace",
            "--all-features",
            "--tests",
            "--bin",
            bin,
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "building {package}/{bin} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == bin
                && msg["package_id"]
                    .as_str()
                    .is_some_and(|id| id.contains(package))
                && msg["profile"]["test"] == false
        })
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no executable for {package}/{bin}"))
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A service binary running as a child process.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    port: u16,
    stderr: PathBuf,
    _workdir: tempfile::TempDir,
}

impl ServiceProcess {
    /// Starts `exe` on a free port in a fresh working folder with `env` on top of a clean
    /// configuration environment. Logs go to files in the working folder.
    pub fn start(exe: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_at(exe, free_port(), env)
    }

    /// As [`start`](Self::start), on `port` (e.g. the port of an instance it replaces).
    pub fn start_at(exe: &Path, port: u16, env: &[(&str, &str)]) -> Self {
        let workdir = tempfile::tempdir().expect("temp dir");
        let stdout = std::fs::File::create(workdir.path().join("stdout.log")).expect("log file");
        let stderr_path = workdir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("log file");
        let mut cmd = Command::new(exe);
        cmd.current_dir(workdir.path())
            .stdout(stdout)
            .stderr(stderr);
        for var in INHERITED_CONFIG {
            cmd.env_remove(var);
        }
        for (name, _) in std::env::vars() {
            if name.starts_with("SERVICEKIT_") || name.starts_with("OTEL_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("PORT", port.to_string()).env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("service binary starts");
        Self {
            child,
            port,
            stderr: stderr_path,
            _workdir: workdir,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The example services' API on this process (its students, or its subjects and
    /// enrolments).
    pub fn api(&self) -> SchoolClient {
        SchoolClient::new(self.url(""))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends SIGKILL: the process dies without draining.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        kill(pid, Signal::SIGTERM).expect("SIGTERM sent");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// What the process wrote to stdout so far (its logs).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.stderr.with_file_name("stdout.log")).unwrap_or_default()
    }

    /// Stdout once it contains `text`, waiting up to 10 s (see [`log_line`](Self::log_line) for
    /// why a line can arrive moments late); for the `pretty` format of `dev`, or several lines.
    pub async fn stdout_containing(&self, text: &str) -> String {
        self.wait_for_stdout(&format!("{text:?}"), |logs| {
            logs.contains(text).then(|| logs.to_string())
        })
        .await
    }

    /// The first JSON log line on stdout that `matches`, waiting up to 10 s for it: servicekit
    /// hands log lines to a writer thread, so a request's line reaches stdout moments after its
    /// response may have.
    pub async fn log_line(
        &self,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        self.wait_for_stdout("such log line", |logs| {
            logs.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| matches(l))
        })
        .await
    }

    /// What `find` first finds in stdout, read again every 20 ms for up to 10 s; panics naming
    /// `what` with the logs when nothing is found by then.
    async fn wait_for_stdout<T>(&self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.stdout();
            if let Some(found) = find(&logs) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {what} in:\n{logs}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `path` until it answers `status` or `timeout` passes; returns the time it took.
    ///
    /// One poll that gets no answer within 5 s (a service stuck on a dead database) counts as
    /// a miss, so the wait ends on time.
    pub async fn wait_for_status(
        &self,
        path: &str,
        status: u16,
        timeout: Duration,
    ) -> Option<Duration> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with default TLS settings always builds");
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(res) = client.get(self.url(path)).send().await
                && res.status().as_u16() == status
            {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        None
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
