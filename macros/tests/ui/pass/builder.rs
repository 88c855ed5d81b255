// `builder = path`: the generated `main` runs the `ServiceBuilder` that the function returns,
// the same one the tests start, so what runs in production is what is tested. `crate` is the
// only argument that goes with it.
pub fn service() -> servicekit::ServiceBuilder {
    servicekit::Service::builder("notes-service").routes(app)
}

async fn app(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}

// In a module so that the binary's own `main` returns at once (see main_fn.rs).
mod binary {
    /// The notes-service binary.
    #[servicekit::microservice(builder = crate::service, crate = "servicekit")]
    fn main() {}

    const _: fn() -> std::process::ExitCode = main;
}

fn main() {}
