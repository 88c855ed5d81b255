//! Storage of students: portable SQL on SQLite, PostgreSQL and MySQL/MariaDB.

use std::time::{SystemTime, UNIX_EPOCH};

use servicekit::db::{self, CommitError, Database};
use servicekit::events::Events;
use sqlx::error::ErrorKind;

use crate::events::{StudentCreated, StudentDeleted, StudentUpdated};
use crate::model::Student;
use crate::validation::ValidStudent;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another student has this email.
    #[error("a student with email {0} already exists")]
    DuplicateEmail(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The request's time ran out before the write committed; nothing was saved.
    #[error(transparent)]
    Commit(#[from] CommitError),
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn classify(err: sqlx::Error, email: &str) -> WriteError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            WriteError::DuplicateEmail(email.to_string())
        }
        _ => WriteError::Db(err),
    }
}

/// Inserts a new student and stages `student.created`.
///
/// Every write runs in a transaction committed with [`db::commit`]: a request cut off at its
/// deadline (answered 504/503) saves nothing, where an autocommitted `INSERT` already sent to the
/// database would have been saved behind the client's back. The event is staged in the same
/// transaction, so it is published exactly when the write commits.
pub async fn create(
    db: &Database,
    events: &Events,
    input: &ValidStudent,
) -> Result<Student, WriteError> {
    let now = now_millis();
    let student = Student {
        id: uuid::Uuid::now_v7().to_string(),
        name: input.name.clone(),
        email: input.email.clone(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql(
        "INSERT INTO students (id, name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
    ))
    .bind(&student.id)
    .bind(&student.name)
    .bind(&student.email)
    .bind(student.created_at)
    .bind(student.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| classify(e, &input.email))?;
    let created = StudentCreated { student };
    events.stage(&mut tx, &created).await?;
    db::commit(tx).await?;
    Ok(created.student)
}

/// The student with `id`, if any.
pub async fn get(db: &Database, id: &str) -> Result<Option<Student>, sqlx::Error> {
    sqlx::query_as(db.sql(SELECT_ONE))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

const SELECT_ONE: &str =
    "SELECT id, name, email, created_at, updated_at FROM students WHERE id = $1";

/// Up to `limit` students created after the one with id `after`, in creation order.
pub async fn list(
    db: &Database,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Student>, sqlx::Error> {
    let limit = i64::from(limit);
    match after {
        Some(after) => {
            sqlx::query_as(db.sql(
                "SELECT id, name, email, created_at, updated_at FROM students \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
        None => {
            sqlx::query_as(db.sql(
                "SELECT id, name, email, created_at, updated_at FROM students ORDER BY id LIMIT $1",
            ))
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
    }
}

/// Replaces name and email of the student with `id` and stages `student.updated`; `None` if
/// there is no such student.
pub async fn update(
    db: &Database,
    events: &Events,
    id: &str,
    input: &ValidStudent,
) -> Result<Option<Student>, WriteError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql("UPDATE students SET name = $1, email = $2, updated_at = $3 WHERE id = $4"))
        .bind(&input.name)
        .bind(&input.email)
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| classify(e, &input.email))?;
    // MySQL counts only changed rows, so an identical update reports 0 rows: read back instead,
    // in the transaction, so the event carries what this update wrote.
    let student: Option<Student> = sqlx::query_as(db.sql(SELECT_ONE))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(student) = student else {
        db::commit(tx).await?;
        return Ok(None);
    };
    let updated = StudentUpdated { student };
    events.stage(&mut tx, &updated).await?;
    db::commit(tx).await?;
    Ok(Some(updated.student))
}

/// Deletes the student with `id` and stages `student.deleted`; `false` if there was none (and
/// no event).
pub async fn delete(db: &Database, events: &Events, id: &str) -> Result<bool, WriteError> {
    let mut tx = db.pool().begin().await?;
    let result = sqlx::query(db.sql("DELETE FROM students WHERE id = $1"))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = result.rows_affected() > 0;
    if deleted {
        let event = StudentDeleted { id: id.to_string() };
        events.stage(&mut tx, &event).await?;
    }
    db::commit(tx).await?;
    Ok(deleted)
}
