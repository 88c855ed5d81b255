//! subject-service binary: `cargo run -p subject-service` (next to `cargo run -p student-service`).
//!
//! The binary runs exactly what the tests start: [`subject_service::service()`], with its code
//! defaults (port 8081, so it can run beside student-service on 8080, and the address of
//! student-service).

/// Runs subject-service until SIGTERM or Ctrl-C.
#[servicekit::microservice(builder = subject_service::service)]
fn main() {}
