//! Transactions as one call: begin, run the caller's work, commit on `Ok`, roll back on `Err`
//! or panic.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::Transaction;

use super::{Backend, CommitError, Database, commit};

impl<DB: Backend> Database<DB> {
    /// Runs `work` in a transaction: commits if it returns `Ok` (through [`commit`], so not
    /// after the request's deadline), rolls back if it returns `Err` or panics (then the panic
    /// continues). Works on the portable and the typed pools.
    ///
    /// `work` receives the open transaction and returns a boxed future, as sqlx's own
    /// closure-based transactions do; run statements on it with `&mut **tx`. Writes that
    /// must happen together go in one call, such as a business row and the outbox row of the
    /// event announcing it:
    ///
    /// ```no_run
    /// use servicekit::Problem;
    /// use servicekit::db::Database;
    ///
    /// async fn enrol(db: &Database, student: String, subject: String) -> Result<(), Problem> {
    ///     db.transaction(|tx| {
    ///         Box::pin(async move {
    ///             sqlx::query(db.sql("INSERT INTO enrolments (student_id, subject_id) VALUES ($1, $2)"))
    ///                 .bind(&student)
    ///                 .bind(&subject)
    ///                 .execute(&mut **tx)
    ///                 .await?;
    ///             sqlx::query(db.sql("INSERT INTO outbox (topic, payload) VALUES ($1, $2)"))
    ///                 .bind("enrolment.created")
    ///                 .bind(format!("{student}/{subject}"))
    ///                 .execute(&mut **tx)
    ///                 .await?;
    ///             Ok::<_, Problem>(())
    ///         })
    ///     })
    ///     .await
    /// }
    /// ```
    ///
    /// The error type `E` takes the errors of `begin` ([`sqlx::Error`]) and of the commit
    /// ([`CommitError`]): [`Problem`](crate::Problem) (a constraint violation is 409 or 422,
    /// a lost connection 503, a passed deadline 504), `CommitError` itself, or `anyhow::Error`.
    /// A connection lost in the middle is rolled back by the database; the rollback attempt's
    /// own error is only logged.
    pub async fn transaction<'a, T, E, F>(&self, work: F) -> Result<T, E>
    where
        // `Transaction<'a, _>` (not `'static`) implies `'a: 't`, so `work` may borrow what
        // lives for `'a`, such as the `Database` it was called on.
        F: for<'t> FnOnce(&'t mut Transaction<'a, DB>) -> BoxFuture<'t, Result<T, E>>,
        E: From<sqlx::Error> + From<CommitError>,
    {
        let mut tx: Transaction<'a, DB> = self.pool().begin().await?;
        let outcome = AssertUnwindSafe(work(&mut tx)).catch_unwind().await;
        match outcome {
            Ok(Ok(value)) => {
                commit(tx).await?;
                Ok(value)
            }
            Ok(Err(error)) => {
                roll_back(tx).await;
                Err(error)
            }
            Err(panic) => {
                roll_back(tx).await;
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// Rolls back; a failure (usually the lost connection that failed the work) is only logged,
/// since the database rolls back an open transaction whose connection is gone.
async fn roll_back<DB: Backend>(tx: Transaction<'_, DB>) {
    if let Err(error) = tx.rollback().await {
        tracing::debug!(%error, "rollback failed; the database discards the transaction with its connection");
    }
}
