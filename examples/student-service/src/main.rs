//! student-service binary: `cargo run -p student-service`.

use axum::Router;
use servicekit::{BoxError, Context};

#[servicekit::microservice(
    name = "student-service",
    migrations = student_service::MIGRATIONS,
    openapi = student_service::api::openapi()
)]
async fn main(ctx: Context) -> Result<Router, BoxError> {
    student_service::app(ctx).await
}
