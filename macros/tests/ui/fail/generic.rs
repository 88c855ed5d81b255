#[servicekit::microservice]
async fn app<S>(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
