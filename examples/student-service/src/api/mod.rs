//! HTTP routes of student-service.

mod students;

use axum::Router;
use axum::routing::get;
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

/// The `/students` routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/students", get(students::list).post(students::create))
        .route(
            "/students/{id}",
            get(students::get)
                .put(students::update)
                .delete(students::delete),
        )
        .with_state(state)
}
