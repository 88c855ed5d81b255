#[servicekit::microservice]
async fn app() -> axum::Router {
    axum::Router::new()
}
