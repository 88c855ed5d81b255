//! {{project-name}} binary: `cargo run`.

use axum::Router;
use servicekit::{BoxError, Context};

#[servicekit::microservice(name = "{{project-name}}", migrations = {{crate_name}}::MIGRATIONS)]
async fn main(ctx: Context) -> Result<Router, BoxError> {
    {{crate_name}}::app(ctx).await
}
