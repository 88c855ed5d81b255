// `#[microservice]` on a function called `main`: the function is renamed and a
// `fn main() -> ExitCode` is generated in its place.
//
// trybuild runs the pass cases, and the generated `main` would start the service and
// wait for a shutdown signal, so each service lives in a module: the expansion is the
// same, and the binary's own `main` returns at once.
mod service {
    #[servicekit::microservice]
    async fn main(_ctx: servicekit::Context) -> axum::Router {
        axum::Router::new()
    }

    const _: fn() -> std::process::ExitCode = main;
}

fn main() {}
