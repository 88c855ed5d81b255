//! student-service binary: `cargo run -p student-service`.
//!
//! The binary runs exactly what the tests start: [`student_service::service()`].

/// Runs student-service until SIGTERM or Ctrl-C.
#[servicekit::microservice(builder = student_service::service)]
fn main() {}
