//! {{project-name}} binary: `cargo run`.
//!
//! The binary runs exactly what the tests start: [`{{crate_name}}::service()`].

/// Runs {{project-name}} until SIGTERM or Ctrl-C.
#[servicekit::microservice(builder = {{crate_name}}::service)]
fn main() {}
