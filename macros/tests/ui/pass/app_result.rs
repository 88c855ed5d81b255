// `#[microservice]` on a function with another name, returning a `Result`: the function
// keeps its name (and visibility, and docs) and `fn main` is generated next to it.
mod service {
    use servicekit::Context;

    /// The service's routes.
    #[servicekit::microservice]
    pub async fn app(ctx: Context) -> Result<axum::Router, servicekit::BoxError> {
        let _ = ctx;
        Ok(axum::Router::new())
    }

    const _: fn() -> std::process::ExitCode = main;
}

fn main() {
    // Still callable under its own name.
    let _routes = service::app;
}
