#[servicekit::microservice]
async fn app(_ctx: servicekit::Context, _port: u16) -> axum::Router {
    axum::Router::new()
}
