//! The three probe endpoints.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::Health;
use super::HealthConfig;
use super::report::{Report, Status};

/// A router serving liveness, readiness and startup at the configured paths.
pub(crate) fn router(health: Health, config: &HealthConfig) -> Router {
    Router::new()
        .route(&config.live_path, get(live))
        .route(&config.ready_path, get(ready))
        .route(&config.startup_path, get(startup))
        .with_state(health)
}

/// Liveness never looks at dependencies: restarting a process does not fix its database.
async fn live() -> Report {
    Report::pass()
}

async fn ready(State(health): State<Health>) -> Report {
    health.readiness().await
}

async fn startup(State(health): State<Health>) -> Report {
    if health.is_started() {
        Report::pass()
    } else {
        Report::with_output(Status::Fail, "starting")
    }
}
