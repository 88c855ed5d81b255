//! Storage of subjects and enrolments: portable SQL on SQLite, PostgreSQL and MySQL/MariaDB.

use std::time::{SystemTime, UNIX_EPOCH};

use servicekit::db::{self, CommitError, Database};
use sqlx::AnyConnection;
use sqlx::error::ErrorKind;

use crate::model::{Enrolment, Subject};
use crate::validation::ValidSubject;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another subject has this code.
    #[error("a subject with code {0} already exists")]
    DuplicateCode(String),
    /// The student is already enrolled.
    #[error("student {0} is already enrolled")]
    AlreadyEnrolled(String),
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

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// Inserts a new subject.
pub async fn create(db: &Database, input: &ValidSubject) -> Result<Subject, WriteError> {
    let now = now_millis();
    let subject = Subject {
        id: uuid::Uuid::now_v7().to_string(),
        code: input.code.clone(),
        title: input.title.clone(),
        credits: input.credits,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql(
        "INSERT INTO subjects (id, code, title, credits, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    ))
    .bind(&subject.id)
    .bind(&subject.code)
    .bind(&subject.title)
    .bind(subject.credits)
    .bind(subject.created_at)
    .bind(subject.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| duplicate_code(e, &input.code))?;
    db::commit(tx).await?;
    Ok(subject)
}

fn duplicate_code(err: sqlx::Error, code: &str) -> WriteError {
    if is_unique_violation(&err) {
        WriteError::DuplicateCode(code.to_string())
    } else {
        WriteError::Db(err)
    }
}

/// The subject with `id`, if any.
pub async fn get(db: &Database, id: &str) -> Result<Option<Subject>, sqlx::Error> {
    sqlx::query_as(
        db.sql(
            "SELECT id, code, title, credits, created_at, updated_at FROM subjects WHERE id = $1",
        ),
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await
}

/// Up to `limit` subjects created after the one with id `after`, in creation order.
pub async fn list(
    db: &Database,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Subject>, sqlx::Error> {
    let limit = i64::from(limit);
    match after {
        Some(after) => {
            sqlx::query_as(db.sql(
                "SELECT id, code, title, credits, created_at, updated_at FROM subjects \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
        None => {
            sqlx::query_as(db.sql(
                "SELECT id, code, title, credits, created_at, updated_at FROM subjects \
                 ORDER BY id LIMIT $1",
            ))
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
    }
}

/// Replaces code, title and credits of the subject with `id`; `None` if there is none.
pub async fn update(
    db: &Database,
    id: &str,
    input: &ValidSubject,
) -> Result<Option<Subject>, WriteError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql(
        "UPDATE subjects SET code = $1, title = $2, credits = $3, updated_at = $4 WHERE id = $5",
    ))
    .bind(&input.code)
    .bind(&input.title)
    .bind(input.credits)
    .bind(now_millis())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| duplicate_code(e, &input.code))?;
    db::commit(tx).await?;
    // MySQL counts only changed rows, so an identical update reports 0 rows: read back instead.
    Ok(get(db, id).await?)
}

/// Deletes the subject with `id` and its enrolments; `false` if there was no such subject.
pub async fn delete(db: &Database, id: &str) -> Result<bool, WriteError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql("DELETE FROM enrolments WHERE subject_id = $1"))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let result = sqlx::query(db.sql("DELETE FROM subjects WHERE id = $1"))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    db::commit(tx).await?;
    Ok(result.rows_affected() > 0)
}

/// Enrols `student_id` in `subject_id` (which must exist).
pub async fn enrol(
    db: &Database,
    subject_id: &str,
    student_id: &str,
) -> Result<Enrolment, WriteError> {
    let enrolment = Enrolment {
        subject_id: subject_id.to_string(),
        student_id: student_id.to_string(),
        created_at: now_millis(),
    };
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        db.sql("INSERT INTO enrolments (subject_id, student_id, created_at) VALUES ($1, $2, $3)"),
    )
    .bind(&enrolment.subject_id)
    .bind(&enrolment.student_id)
    .bind(enrolment.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            WriteError::AlreadyEnrolled(student_id.to_string())
        } else {
            WriteError::Db(e)
        }
    })?;
    db::commit(tx).await?;
    Ok(enrolment)
}

/// Up to `limit` enrolments of `subject_id` whose student id comes after `after`, in the order
/// of the student ids.
pub async fn enrolments(
    db: &Database,
    subject_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Enrolment>, sqlx::Error> {
    let limit = i64::from(limit);
    match after {
        Some(after) => {
            sqlx::query_as(db.sql(
                "SELECT subject_id, student_id, created_at FROM enrolments \
                 WHERE subject_id = $1 AND student_id > $2 ORDER BY student_id LIMIT $3",
            ))
            .bind(subject_id)
            .bind(after)
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
        None => {
            sqlx::query_as(db.sql(
                "SELECT subject_id, student_id, created_at FROM enrolments \
                 WHERE subject_id = $1 ORDER BY student_id LIMIT $2",
            ))
            .bind(subject_id)
            .bind(limit)
            .fetch_all(db.pool())
            .await
        }
    }
}

/// Deletes every enrolment of `student_id`, in every subject, on `conn` (usually an open
/// transaction: the `student.deleted` handler runs it in the transaction that records the event
/// as handled). Returns how many enrolments there were; 0 is not an error, since a student may
/// have had none, or the event may be a redelivery.
pub async fn delete_enrolments_of_student(
    db: &Database,
    conn: &mut AnyConnection,
    student_id: &str,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(db.sql("DELETE FROM enrolments WHERE student_id = $1"))
        .bind(student_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected())
}

/// The enrolment of `student_id` in `subject_id`, if any.
pub async fn enrolment(
    db: &Database,
    subject_id: &str,
    student_id: &str,
) -> Result<Option<Enrolment>, sqlx::Error> {
    sqlx::query_as(db.sql(
        "SELECT subject_id, student_id, created_at FROM enrolments \
         WHERE subject_id = $1 AND student_id = $2",
    ))
    .bind(subject_id)
    .bind(student_id)
    .fetch_optional(db.pool())
    .await
}
