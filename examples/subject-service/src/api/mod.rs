//! HTTP routes of subject-service.

mod enrolments;
mod subjects;

use axum::Router;
use servicekit::auth::{AuthLayer, require_scope};
use servicekit::db::Database;
use servicekit::server::RateLimitLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Settings;
use crate::students::Students;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's pool.
    pub db: Database,
    /// The `[app]` settings.
    pub settings: Settings,
    /// student-service, through the resilient client.
    pub students: Students,
}

/// The scope needed to read subjects and enrolments.
pub const READ_SCOPE: &str = "subjects:read";
/// The scope needed to change subjects and enrol students.
pub const WRITE_SCOPE: &str = "subjects:write";

/// The `/subjects` and enrolment routes with their OpenAPI description: reads need
/// [`READ_SCOPE`], writes [`WRITE_SCOPE`] (the handlers' `security` attributes say the same).
fn routes() -> OpenApiRouter<AppState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(subjects::list))
        .routes(routes!(subjects::get))
        .routes(routes!(enrolments::list))
        .routes(routes!(enrolments::get))
        .route_layer(require_scope(READ_SCOPE));
    let writes = OpenApiRouter::new()
        .routes(routes!(subjects::create))
        .routes(routes!(subjects::update, subjects::delete))
        .routes(routes!(enrolments::create))
        .route_layer(require_scope(WRITE_SCOPE));
    reads.merge(writes)
}

/// The routes, every request with a token verified by `auth` (everything passes when `[auth]`
/// is not configured).
/// `limit` throttles per verified subject, API key or IP when `[rate_limit]` is enabled (it sits
/// inside `auth`, so it sees the verified caller).
pub fn router(state: AppState, auth: AuthLayer, limit: RateLimitLayer) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state).layer(limit).layer(auth)
}

/// The OpenAPI document of the routes, served at `/openapi.json`.
pub fn openapi() -> OpenApi {
    routes().into_openapi()
}
