//! The student resource and the bodies clients send.

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

/// A student as stored and returned, and the data of the `student.created` and
/// `student.updated` events (see [`crate::events`]), which read it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Student {
    /// UUID v7, so ids sort by creation time.
    #[schema(format = Uuid)]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique, stored lower-case.
    pub email: String,
    /// RFC 3339 creation time.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// RFC 3339 time of the last update.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl FromRow<'_, AnyRow> for Student {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

fn rfc3339<S: serde::Serializer>(millis: &i64, s: S) -> Result<S::Ok, S::Error> {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(*millis).unwrap_or_default());
    s.collect_str(&humantime::format_rfc3339_millis(at))
}

/// Milliseconds since the epoch from an RFC 3339 time, as [`rfc3339`] writes it.
fn from_rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    let at = humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)?;
    let millis = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| serde::de::Error::custom("a time before 1970"))?
        .as_millis();
    i64::try_from(millis).map_err(serde::de::Error::custom)
}

/// The body of `POST /students` and `PUT /students/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentInput {
    /// Display name: 1 to 200 characters, no control characters, not only whitespace; stored
    /// trimmed. (`pattern` is `validation::NAME_PATTERN`.)
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "Ada Lovelace"
    )]
    pub name: String,
    /// An email address: a local part, one `@`, a domain with a dot inside; no whitespace or
    /// control characters. Stored lower-case, so unique regardless of case. (`pattern` is
    /// `validation::EMAIL_PATTERN`.)
    #[schema(
        min_length = 5,
        max_length = 320,
        pattern = "^[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+@[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*\\.[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]$",
        example = "ada@example.org"
    )]
    pub email: String,
}

/// One page of `GET /students`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page {
    /// The students of this page, in creation order.
    pub items: Vec<Student>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid, nullable = false)]
    pub next: Option<String>,
}
