//! HTTP routes of student-service.

mod students;

use axum::Router;
use axum::routing::{get, post, put};
use servicekit::auth::{AuthLayer, require_scope};
use servicekit::db::Database;

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

/// The `/students` routes: reads need [`READ_SCOPE`], writes [`WRITE_SCOPE`], every request a
/// token verified by `auth` (which lets everything through when `[auth]` is not configured).
pub fn router(state: AppState, auth: AuthLayer) -> Router {
    let reads = Router::new()
        .route("/students", get(students::list))
        .route("/students/{id}", get(students::get))
        .route_layer(require_scope(READ_SCOPE));
    let writes = Router::new()
        .route("/students", post(students::create))
        .route(
            "/students/{id}",
            put(students::update).delete(students::delete),
        )
        .route_layer(require_scope(WRITE_SCOPE));
    reads.merge(writes).with_state(state).layer(auth)
}
