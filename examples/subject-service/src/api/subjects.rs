//! `/subjects` handlers.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use servicekit::prelude::*;
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
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

/// Query of `GET /subjects`.
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
