//! `/subjects/{id}/enrolments` handlers: each student is verified with student-service.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use servicekit::prelude::*;
use uuid::Uuid;

use super::AppState;
use super::paging::{ListQuery, page};
use super::subjects::not_found;
use crate::model::{Enrolment, EnrolmentInput, Enrolments};
use crate::repo;
use crate::validation::validate_enrolment;

/// Enrols a student, after student-service confirmed the student exists.
///
/// 404 for an unknown subject, 422 naming `student_id` for a student student-service does not
/// know, 409 for a second enrolment, 503 (fast, once the breaker is open) when student-service
/// is unavailable.
#[utoipa::path(post, path = "/subjects/{id}/enrolments", tag = "enrolments",
    request_body = EnrolmentInput,
    params(("id" = Uuid, Path, description = "The subject's id")),
    security(("bearer" = ["subjects:write"])),
    responses(
        (status = 201, description = "Enrolled; `Location` names the enrolment.", body = Enrolment,
            headers(("Location" = String, description = "Path of the new enrolment"))),
        (status = 404, description = "No subject has this id.", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "The student is already enrolled.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`student_id` is not a UUID or student-service does not know it.", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "student-service is unavailable (answered at once while its circuit is open).", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state, input))]
pub(super) async fn create(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(input): Json<EnrolmentInput>,
) -> Result<(StatusCode, HeaderMap, Json<Enrolment>), Problem> {
    let student = validate_enrolment(&input)?;
    let subject = id.to_string();
    if repo::get(&state.db, &subject).await?.is_none() {
        return Err(not_found(id));
    }
    if !state.students.exists(student).await? {
        return Err(Problem::validation([(
            "student_id",
            format!("student {student} does not exist"),
        )]));
    }
    let enrolment = repo::enrol(&state.db, &subject, &student.to_string()).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) =
        HeaderValue::from_str(&format!("/subjects/{subject}/enrolments/{student}"))
    {
        headers.insert(header::LOCATION, location);
    }
    tracing::info!(subject = %subject, student = %student, "student enrolled");
    Ok((StatusCode::CREATED, headers, Json(enrolment)))
}

/// Lists a subject's enrolments in the order of the students' ids (UUID v7, so the order in
/// which the students were created), a page at a time (keyset pagination, as `GET /subjects`).
#[utoipa::path(get, path = "/subjects/{id}/enrolments", tag = "enrolments",
    params(("id" = Uuid, Path, description = "The subject's id"), ListQuery),
    security(("bearer" = ["subjects:read"])),
    responses(
        (status = 200, description = "One page; `next` is absent on the last.", body = Enrolments),
        (status = 404, description = "No subject has this id.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`limit` is out of range.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn list(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Enrolments>, Problem> {
    let limit = query.limit(&state.settings)?;
    let subject = id.to_string();
    if repo::get(&state.db, &subject).await?.is_none() {
        return Err(not_found(id));
    }
    // One extra row tells whether there is a next page.
    let items = repo::enrolments(&state.db, &subject, query.after().as_deref(), limit + 1).await?;
    let (items, next) = page(items, limit, |e| &e.student_id);
    Ok(Json(Enrolments { items, next }))
}

/// Reads one enrolment (the `Location` of a new one).
#[utoipa::path(get, path = "/subjects/{id}/enrolments/{student_id}", tag = "enrolments",
    params(
        ("id" = Uuid, Path, description = "The subject's id"),
        ("student_id" = Uuid, Path, description = "The student's id"),
    ),
    security(("bearer" = ["subjects:read"])),
    responses(
        (status = 200, description = "The enrolment.", body = Enrolment),
        (status = 404, description = "The student is not enrolled in this subject.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn get(
    State(state): State<AppState>,
    Path((id, student)): Path<(Uuid, Uuid)>,
) -> Result<Json<Enrolment>, Problem> {
    repo::enrolment(&state.db, &id.to_string(), &student.to_string())
        .await?
        .map(Json)
        .ok_or_else(|| {
            Problem::not_found(format!("student {student} is not enrolled in subject {id}"))
        })
}
