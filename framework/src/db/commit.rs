//! Committing a request's writes only while its deadline allows.
//!
//! The server's [`RequestDeadlineLayer`](crate::server::RequestDeadlineLayer) drops a handler at the
//! deadline. Dropping an open transaction rolls it back, but a statement that already reached
//! the database in autocommit mode, or a `COMMIT` already sent, is saved although the client
//! is told 504. [`commit`] closes that gap: it refuses to commit once the request's time is up
//! (rolling back), and once it has begun the layer waits for the handler's real answer.

use sqlx::Transaction;

/// Why [`commit`] did not commit.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The request's deadline or `server.request_timeout` passed before the commit; the
    /// transaction was rolled back and the server answers the request as timed out.
    #[error("the request's time ran out before its transaction committed; it was rolled back")]
    DeadlinePassed,
    /// The database refused the commit.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Commits `tx` unless the deadline of the request being handled on this task has passed, in
/// which case `tx` is rolled back and [`CommitError::DeadlinePassed`] returned. Outside a
/// request (background tasks, event consumers, tasks spawned by a handler) it simply commits.
///
/// ```no_run
/// use servicekit::db::{Database, commit, CommitError};
///
/// async fn rename(db: &Database, id: &str, name: &str) -> Result<(), CommitError> {
///     let mut tx = db.pool().begin().await?;
///     sqlx::query(db.sql("UPDATE students SET name = $1 WHERE id = $2"))
///         .bind(name)
///         .bind(id)
///         .execute(&mut *tx)
///         .await?;
///     commit(tx).await
/// }
/// ```
pub async fn commit<DB: sqlx::Database>(tx: Transaction<'_, DB>) -> Result<(), CommitError> {
    if crate::server::budget::begin_commit().is_err() {
        tracing::debug!("deadline passed before commit; rolling back");
        tx.rollback().await?;
        return Err(CommitError::DeadlinePassed);
    }
    tx.commit().await?;
    Ok(())
}

impl From<CommitError> for crate::Problem {
    fn from(err: CommitError) -> Self {
        match err {
            CommitError::DeadlinePassed => {
                crate::Problem::new(http::StatusCode::GATEWAY_TIMEOUT).with_detail(err.to_string())
            }
            CommitError::Db(e) => e.into(),
        }
    }
}
