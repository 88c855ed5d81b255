//! HTTP routes of subject-service.

mod enrolments;
mod subjects;

use axum::Router;
use axum::routing::get;
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

/// The `/subjects` and enrolment routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/subjects", get(subjects::list).post(subjects::create))
        .route(
            "/subjects/{id}",
            get(subjects::get)
                .put(subjects::update)
                .delete(subjects::delete),
        )
        .route(
            "/subjects/{id}/enrolments",
            get(enrolments::list).post(enrolments::create),
        )
        .route(
            "/subjects/{id}/enrolments/{student_id}",
            get(enrolments::get),
        )
        .with_state(state)
}
