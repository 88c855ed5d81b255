//! subject-service binary: `cargo run -p subject-service` (next to `cargo run -p student-service`).
//!
//! This main uses the builder instead of `#[servicekit::microservice]` because the service sets
//! defaults in code (port 8081, so it can run beside student-service on 8080, and the address
//! of student-service), which the attribute has no argument for; `subject_service::service()`
//! is what the attribute would expand to, plus those defaults.

fn main() -> std::process::ExitCode {
    subject_service::service().run_main()
}
