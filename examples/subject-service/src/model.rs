//! The subject and enrolment resources and the bodies clients send.

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

/// A subject as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Subject {
    /// UUID v7, so ids sort by creation time.
    #[schema(format = Uuid)]
    pub id: String,
    /// Unique code such as `MATH-101`, stored upper-case.
    pub code: String,
    /// Display title.
    pub title: String,
    /// Credit points.
    pub credits: i64,
    /// RFC 3339 creation time.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// RFC 3339 time of the last update.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl FromRow<'_, AnyRow> for Subject {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            title: row.try_get("title")?,
            credits: row.try_get("credits")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A student enrolled in a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Enrolment {
    /// The subject.
    #[schema(format = Uuid)]
    pub subject_id: String,
    /// The student, as known to student-service.
    #[schema(format = Uuid)]
    pub student_id: String,
    /// RFC 3339 enrolment time.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for Enrolment {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            subject_id: row.try_get("subject_id")?,
            student_id: row.try_get("student_id")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

fn rfc3339<S: serde::Serializer>(millis: &i64, s: S) -> Result<S::Ok, S::Error> {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(*millis).unwrap_or_default());
    s.collect_str(&humantime::format_rfc3339_millis(at))
}

/// The body of `POST /subjects` and `PUT /subjects/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    /// 2 to 20 letters, digits or `-`; compared case-insensitively.
    #[schema(
        min_length = 2,
        max_length = 20,
        pattern = "^[A-Za-z0-9-]+$",
        example = "MATH-101"
    )]
    pub code: String,
    /// 1 to 200 characters, no control characters, not only whitespace; stored trimmed.
    /// (`pattern` is `validation::TITLE_PATTERN`.)
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Linear Algebra"
    )]
    pub title: String,
    /// 1 to 60. As JSON Schema's `integer`, a number with a zero fraction (`6.0`) is accepted.
    #[schema(minimum = 1, maximum = 60, example = 6)]
    #[serde(deserialize_with = "integer")]
    pub credits: i64,
}

/// An `integer` as JSON Schema means it: `6` or `6.0`, not `6.5`. serde's `i64` takes only the
/// first, so a request the document calls valid would be rejected.
fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        // Integral, and inside i64's range (both bounds are exact powers of two).
        Some(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => Ok(f as i64),
        _ => Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Other(&number.to_string()),
            &"an integer",
        )),
    }
}

/// The body of `POST /subjects/{id}/enrolments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInput {
    /// The student's id in student-service (a UUID).
    #[schema(format = Uuid)]
    pub student_id: String,
}

/// One page of `GET /subjects`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page {
    /// The subjects of this page, in creation order.
    pub items: Vec<Subject>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub next: Option<String>,
}

/// One page of `GET /subjects/{id}/enrolments`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enrolments {
    /// The enrolments of this page, in the order of the students' ids.
    pub items: Vec<Enrolment>,
    /// The last student id of this page: pass as `after` to get the next page; absent on the
    /// last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub next: Option<String>,
}
