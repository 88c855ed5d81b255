//! What both PostgreSQL cases share, so that they differ only in what wraps the handler: the
//! row type, its JSON and the query of student-service's `GET /students/{id}`.

use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};

/// The query of student-service's `GET /students/{id}` (`$1`: the id as text).
pub const GET_STUDENT: &str =
    "SELECT id, name, email, created_at, updated_at FROM students WHERE id = $1";

/// The pool size of both PostgreSQL cases: servicekit's default `database.max_connections`.
pub const MAX_CONNECTIONS: u32 = 10;

/// A student as student-service returns it.
#[derive(Debug, Serialize)]
pub struct Student {
    /// UUID as text.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Creation time, milliseconds since the epoch; RFC 3339 in JSON.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: i64,
    /// Time of the last update, milliseconds since the epoch; RFC 3339 in JSON.
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: i64,
}

impl FromRow<'_, PgRow> for Student {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
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
