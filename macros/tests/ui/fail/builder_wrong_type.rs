async fn app(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}

// The attribute goes on `main` with the builder function as its argument, not on the routes.
#[servicekit::microservice(builder = app)]
fn main() {}
