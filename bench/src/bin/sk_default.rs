//! Case B: the shared handler served by servicekit as a real service runs it:
//! `Service::builder` with no database, so the standard stack (request id, trace span, RED
//! metrics, problem+json, panic catcher, timeout, body limit), the Prometheus recorder, the
//! health endpoints and the configured logs (`SERVICEKIT_ENV=prod`: JSON).

use std::process::ExitCode;

fn main() -> ExitCode {
    servicekit::Service::builder("sk-default")
        .version(env!("CARGO_PKG_VERSION"))
        .routes(|_ctx| async { servicekit_bench::router() })
        .run_main()
}
