#[servicekit::microservice(migrations = "tests/ui/no-such-migrations")]
async fn app(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
