//! Real protocol peers started by the tests: an OTLP receiver and the Prometheus text parser,
//! both built on the official Python packages (`tests/tools/requirements.txt`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools");
const INSTALL_HINT: &str = "install the test peers: pip install -r tests/tools/requirements.txt";

/// A running OTLP trace receiver (http/protobuf and gRPC) collecting every span it decodes.
#[derive(Debug)]
pub struct OtlpReceiver {
    child: Child,
    /// Port of the http/protobuf endpoint (`POST /v1/traces`).
    pub http_port: u16,
    /// Port of the gRPC endpoint.
    pub grpc_port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl OtlpReceiver {
    /// Starts the receiver; with `fail_status`, the HTTP endpoint rejects every export with it.
    pub fn start(fail_status: Option<u16>) -> Self {
        let mut cmd = Command::new("python3");
        cmd.arg(format!("{TOOLS}/otlp_receiver.py"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(status) = fail_status {
            cmd.args(["--fail-status", &status.to_string()]);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("python3 is needed for the OTLP receiver ({e}); {INSTALL_HINT}")
        });
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some((http_port, grpc_port)) = parse_ready(&ready) else {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
            }
            let _ = child.kill();
            panic!("the OTLP receiver did not start: {err}\n{INSTALL_HINT}");
        };
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(span) = serde_json::from_str::<Value>(&line) {
                    sink.lock().expect("not poisoned").push(span);
                }
            }
        });
        Self {
            child,
            http_port,
            grpc_port,
            spans,
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Value> {
        self.spans.lock().expect("not poisoned").clone()
    }

    /// Waits until a span matching `pred` arrives, at most `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(span) = self.spans().into_iter().find(|s| pred(s)) {
                return Some(span);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

fn parse_ready(line: &str) -> Option<(u16, u16)> {
    let rest = line.strip_prefix("READY ")?;
    let mut http = None;
    let mut grpc = None;
    for part in rest.split_whitespace() {
        match part.split_once('=')? {
            ("http", p) => http = p.parse().ok(),
            ("grpc", p) => grpc = p.parse().ok(),
            _ => {}
        }
    }
    Some((http?, grpc?))
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a Prometheus text exposition with the official `prometheus_client` parser; panics
/// with the parser's message when the text is invalid. Returns `{"families": {...}}`.
pub fn parse_prometheus(text: &str) -> Value {
    let mut child = Command::new("python3")
        .arg(format!("{TOOLS}/prom_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for the Prometheus parser ({e}); {INSTALL_HINT}")
        });
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("parser reads stdin");
    let output = child.wait_with_output().expect("parser runs");
    assert!(
        output.status.success(),
        "{}\n{INSTALL_HINT} if the module is missing",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("parser prints JSON")
}
