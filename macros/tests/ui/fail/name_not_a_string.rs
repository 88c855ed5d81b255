#[servicekit::microservice(name = notes_service)]
async fn main(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
