//! A minimal service for lifecycle tests: `GET /slow/{ms}` answers after `ms` milliseconds.
//!
//! It uses `#[servicekit::microservice]` without a database, as the smallest real service.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;

#[servicekit::microservice(name = "probe-service")]
async fn app(_ctx: servicekit::Context) -> Router {
    Router::new().route(
        "/slow/{ms}",
        get(|Path(ms): Path<u64>| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            format!("slept {ms}ms")
        }),
    )
}
