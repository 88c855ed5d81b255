//! gateway binary: `cargo run -p gateway`, in front of `cargo run -p student-service` and
//! `cargo run -p subject-service`.
//!
//! The binary runs exactly what the tests start: [`gateway::service()`], with its code defaults
//! (port 8000, student-service on 8080, subject-service on 8081).

/// Runs the gateway until SIGTERM or Ctrl-C.
#[servicekit::microservice(builder = gateway::service)]
fn main() {}
