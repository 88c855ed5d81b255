#[servicekit::microservice]
fn main(_ctx: servicekit::Context) -> axum::Router {
    axum::Router::new()
}
