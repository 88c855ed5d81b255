#[servicekit::microservice(name = "notes-service", name = "other-service")]
async fn main(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
