//! `/students` handlers.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use servicekit::prelude::*;
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
use crate::model::{Page, Student, StudentInput};
use crate::repo::{self, WriteError};
use crate::validation::validate;

impl From<WriteError> for Problem {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::DuplicateEmail(email) => {
                Problem::conflict(format!("a student with email {email} already exists"))
            }
            WriteError::Db(e) => e.into(),
            WriteError::Commit(e) => e.into(),
        }
    }
}

fn not_found(id: Uuid) -> Problem {
    Problem::not_found(format!("student {id} does not exist"))
}

/// Creates a student.
#[utoipa::path(post, path = "/students", tag = "students", request_body = StudentInput,
    security(("bearer" = ["students:write"])),
    responses(
        (status = 201, description = "Created; `Location` names the new student.", body = Student,
            headers(("Location" = String, description = "Path of the new student"))),
        (status = 409, description = "A student with this email exists.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each listed under `errors`.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    Json(input): Json<StudentInput>,
) -> Result<(StatusCode, HeaderMap, Json<Student>), Problem> {
    let valid = validate(input)?;
    let student = repo::create(&state.db, &state.events, &valid).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/students/{}", student.id)) {
        headers.insert(header::LOCATION, location);
    }
    tracing::info!(id = %student.id, "student created");
    Ok((StatusCode::CREATED, headers, Json(student)))
}

/// Reads one student.
#[utoipa::path(get, path = "/students/{id}", tag = "students",
    params(("id" = Uuid, Path, description = "The student's id")),
    security(("bearer" = ["students:read"])),
    responses(
        (status = 200, description = "The student.", body = Student),
        (status = 404, description = "No student has this id.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Student>, Problem> {
    state
        .cache
        .get(&state.db, &id.to_string())
        .await?
        .map(Json)
        .ok_or_else(|| not_found(id))
}

/// Query of `GET /students`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Page size: 1 to `app.max_page_size` (100 by default); `app.default_page_size` if absent.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default, deserialize_with = "hyphenated_uuid")]
    after: Option<Uuid>,
}

/// A UUID in the hyphenated form only, as the document's `format: uuid` says (`Uuid`'s own
/// deserializer also takes the braced, URN and simple forms).
fn hyphenated_uuid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let text = String::deserialize(d)?;
    Some(text.as_str())
        .filter(|t| t.len() == 36)
        .and_then(|t| Uuid::parse_str(t).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom("expected a UUID like 01a22d05-e436-70a4-951b-555fece239fc")
        })
}

/// Lists students in creation order, a page at a time (keyset pagination).
#[utoipa::path(get, path = "/students", tag = "students", params(ListQuery),
    security(("bearer" = ["students:read"])),
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
    let max = state.settings.max_page_size;
    let limit = query.limit.unwrap_or(state.settings.default_page_size);
    if limit == 0 || limit > max {
        return Err(Problem::validation([(
            "limit",
            format!("must be between 1 and {max}"),
        )]));
    }
    let after = query.after.map(|id| id.to_string());
    // One extra row tells whether there is a next page.
    let mut items = repo::list(&state.db, after.as_deref(), limit + 1).await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|s| s.id.clone())
    } else {
        None
    };
    Ok(Json(Page { items, next }))
}

/// Replaces a student's name and email.
#[utoipa::path(put, path = "/students/{id}", tag = "students", request_body = StudentInput,
    params(("id" = Uuid, Path, description = "The student's id")),
    security(("bearer" = ["students:write"])),
    responses(
        (status = 200, description = "The updated student.", body = Student),
        (status = 404, description = "No student has this id.", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "Another student has this email.", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each listed under `errors`.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state, input))]
pub(super) async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(input): Json<StudentInput>,
) -> Result<Json<Student>, Problem> {
    let valid = validate(input)?;
    let id_text = id.to_string();
    let updated = repo::update(&state.db, &state.events, &id_text, &valid).await?;
    // Committed: the next read loads the new row.
    state.cache.invalidate(&id_text).await;
    updated.map(Json).ok_or_else(|| not_found(id))
}

/// Deletes a student.
#[utoipa::path(delete, path = "/students/{id}", tag = "students",
    params(("id" = Uuid, Path, description = "The student's id")),
    security(("bearer" = ["students:write"])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No student has this id.", body = Problem,
            content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip(state))]
pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    let id_text = id.to_string();
    if repo::delete(&state.db, &state.events, &id_text).await? {
        // Committed: the next read is a 404 (and is remembered as one for a few seconds).
        state.cache.invalidate(&id_text).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(id))
    }
}
