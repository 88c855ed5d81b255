#[servicekit::microservice(name = "notes-service", port = 8080)]
async fn main(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
