//! HTTP routes of subject-service.

mod enrolments;
mod subjects;

use axum::Router;
use axum::routing::{get, post, put};
use servicekit::auth::{AuthLayer, require_scope};
use servicekit::db::Database;

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

/// The `/subjects` and enrolment routes: reads need [`READ_SCOPE`], writes [`WRITE_SCOPE`],
/// every request a token verified by `auth` (everything passes when `[auth]` is not configured).
pub fn router(state: AppState, auth: AuthLayer) -> Router {
    let reads = Router::new()
        .route("/subjects", get(subjects::list))
        .route("/subjects/{id}", get(subjects::get))
        .route("/subjects/{id}/enrolments", get(enrolments::list))
        .route(
            "/subjects/{id}/enrolments/{student_id}",
            get(enrolments::get),
        )
        .route_layer(require_scope(READ_SCOPE));
    let writes = Router::new()
        .route("/subjects", post(subjects::create))
        .route(
            "/subjects/{id}",
            put(subjects::update).delete(subjects::delete),
        )
        .route("/subjects/{id}/enrolments", post(enrolments::create))
        .route_layer(require_scope(WRITE_SCOPE));
    reads.merge(writes).with_state(state).layer(auth)
}
