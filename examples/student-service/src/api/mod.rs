//! HTTP routes of student-service.

mod students;

use axum::Router;
use servicekit::auth::{AuthLayer, require_scope};
use servicekit::db::Database;
use servicekit::server::RateLimitLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Settings;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's pool.
    pub db: Database,
    /// The `[app]` settings.
    pub settings: Settings,
}

/// The scope needed to read students.
pub const READ_SCOPE: &str = "students:read";
/// The scope needed to create, update and delete students.
pub const WRITE_SCOPE: &str = "students:write";

/// The `/students` routes with their OpenAPI description: reads need [`READ_SCOPE`], writes
/// [`WRITE_SCOPE`] (the handlers' `security` attributes say the same for the document).
fn routes() -> OpenApiRouter<AppState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(students::list))
        .routes(routes!(students::get))
        .route_layer(require_scope(READ_SCOPE));
    let writes = OpenApiRouter::new()
        .routes(routes!(students::create))
        .routes(routes!(students::update, students::delete))
        .route_layer(require_scope(WRITE_SCOPE));
    reads.merge(writes)
}

/// The `/students` routes, every request with a token verified by `auth` (which lets everything
/// through when `[auth]` is not configured).
/// `limit` throttles per verified subject, API key or IP when `[rate_limit]` is enabled (it sits
/// inside `auth`, so it sees the verified caller).
pub fn router(state: AppState, auth: AuthLayer, limit: RateLimitLayer) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state).layer(limit).layer(auth)
}

/// The OpenAPI document of the `/students` routes, served at `/openapi.json`.
pub fn openapi() -> OpenApi {
    routes().into_openapi()
}
