//! `/subjects` handlers.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use servicekit::prelude::*;
use uuid::Uuid;

use super::AppState;
use super::paging::{ListQuery, page};
use crate::model::{Page, Subject, SubjectInput};
use crate::repo::{self, WriteError};
use crate::validation::validate_subject;

impl From<WriteError> for Problem {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::DuplicateCode(code) => {
                Problem::conflict(format!("a subject with code {code} already exists"))
            }
            WriteError::AlreadyEnrolled(student) => Problem::conflict(format!(
                "student {student} is already enrolled in this subject"
            )),
            WriteError::Db(e) => e.into(),
            WriteError::Commit(e) => e.into(),
        }
    }
}

/// The 404 for an unknown subject.
pub(super) fn not_found(id: Uuid) -> Problem {
    Problem::not_found(format!("subject {id} does not exist"))
}

/// Creates a subject.
#[utoipa::path(post, path = "/subjects", tag = "subjects", request_body = SubjectInput,
    security(("bearer" = ["subjects:write"])),
    responses(
        (status = 201, description = "Created; `Location` names the new subject.", body = Subject,
            headers(("Location" = String, description = "Path of the new subject"))),
        (status = 409, description = "A subject with this code exists.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each listed under `errors`.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    Json(input): Json<SubjectInput>,
) -> Result<(StatusCode, HeaderMap, Json<Subject>), Problem> {
    let valid = validate_subject(input)?;
    let subject = repo::create(&state.db, &valid).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/subjects/{}", subject.id)) {
        headers.insert(header::LOCATION, location);
    }
    tracing::info!(id = %subject.id, code = %subject.code, "subject created");
    Ok((StatusCode::CREATED, headers, Json(subject)))
}

/// Reads one subject.
#[utoipa::path(get, path = "/subjects/{id}", tag = "subjects",
    params(("id" = Uuid, Path, description = "The subject's id")),
    security(("bearer" = ["subjects:read"])),
    responses(
        (status = 200, description = "The subject.", body = Subject),
        (status = 404, description = "No subject has this id.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Subject>, Problem> {
    repo::get(&state.db, &id.to_string())
        .await?
        .map(Json)
        .ok_or_else(|| not_found(id))
}

/// Lists subjects in creation order, a page at a time (keyset pagination).
#[utoipa::path(get, path = "/subjects", tag = "subjects", params(ListQuery),
    security(("bearer" = ["subjects:read"])),
    responses(
        (status = 200, description = "One page; `next` is absent on the last.", body = Page),
        (status = 422, description = "`limit` is out of range.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page>, Problem> {
    let limit = query.limit(&state.settings)?;
    // One extra row tells whether there is a next page.
    let items = repo::list(&state.db, query.after().as_deref(), limit + 1).await?;
    let (items, next) = page(items, limit, |s| &s.id);
    Ok(Json(Page { items, next }))
}

/// Replaces a subject's code, title and credits.
#[utoipa::path(put, path = "/subjects/{id}", tag = "subjects", request_body = SubjectInput,
    params(("id" = Uuid, Path, description = "The subject's id")),
    security(("bearer" = ["subjects:write"])),
    responses(
        (status = 200, description = "The updated subject.", body = Subject),
        (status = 404, description = "No subject has this id.", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "Another subject has this code.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each listed under `errors`.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state, input))]
pub(super) async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(input): Json<SubjectInput>,
) -> Result<Json<Subject>, Problem> {
    let valid = validate_subject(input)?;
    repo::update(&state.db, &id.to_string(), &valid)
        .await?
        .map(Json)
        .ok_or_else(|| not_found(id))
}

/// Deletes a subject and its enrolments.
#[utoipa::path(delete, path = "/subjects/{id}", tag = "subjects",
    params(("id" = Uuid, Path, description = "The subject's id")),
    security(("bearer" = ["subjects:write"])),
    responses(
        (status = 204, description = "Deleted, with its enrolments."),
        (status = 404, description = "No subject has this id.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    if repo::delete(&state.db, &id.to_string()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}
