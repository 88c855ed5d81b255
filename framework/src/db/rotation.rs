//! Credential rotation without dropping requests.
//!
//! The pool stays the same sqlx pool (so `db.pool()` keeps working in handlers); rotation swaps
//! the options its *new* connections are opened with (`Pool::set_connect_options`) and retires
//! the connections opened before: each one finishes the query or transaction it is running,
//! and is closed instead of being returned to the pool (`after_release`) or handed out again
//! (`before_acquire`). New credentials are tried on one connection before the switch, so a
//! secret that the database does not accept yet leaves the pool as it was.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::ConnectOptions;
use sqlx::pool::PoolOptions;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::pool::{connect_options, for_sqlx};
use super::{Backend, Database, DbError, DbKind, redact_url};

/// Rotation state shared by the clones of one [`Database`].
#[derive(Debug, Default)]
pub(crate) struct Rotation {
    /// When the credentials last changed; connections older than that are retired.
    rotated_at: RwLock<Option<Instant>>,
    /// Signalled when the database refused the credentials.
    refused: Notify,
}

impl Rotation {
    /// Adds the hooks that retire connections opened with replaced credentials.
    pub(super) fn install<DB: Backend>(
        self: &Arc<Self>,
        options: PoolOptions<DB>,
    ) -> PoolOptions<DB> {
        let before = Arc::clone(self);
        let after = Arc::clone(self);
        options
            .before_acquire(move |_conn, meta| {
                let keep = !before.is_retired(meta.age);
                Box::pin(async move { Ok(keep) })
            })
            .after_release(move |_conn, meta| {
                let keep = !after.is_retired(meta.age);
                Box::pin(async move { Ok(keep) })
            })
    }

    /// Whether a connection opened `age` ago predates the last rotation.
    fn is_retired(&self, age: Duration) -> bool {
        let rotated_at = *self.rotated_at.read().unwrap_or_else(|e| e.into_inner());
        rotated_at.is_some_and(|at| age > at.elapsed())
    }

    fn mark_rotated(&self) {
        *self.rotated_at.write().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Notes an error seen on the pool; refused credentials wake [`Database::credentials_refused`].
    pub(super) fn observe(&self, error: &sqlx::Error) {
        if super::is_refused_credentials(error) {
            tracing::warn!(%error, "the database refused the credentials; fetching them again");
            self.refused.notify_one();
        }
    }
}

impl<DB: Backend> Database<DB> {
    /// Switches the pool to new credentials (a complete URL) without failing requests.
    ///
    /// One connection is opened with `url` first; if the database refuses it, the pool keeps the
    /// current credentials and the error says so. Otherwise new connections use `url`, and each
    /// connection opened before finishes its current work and is then closed. The service calls
    /// this itself when a secret in `database.url`, `database.password` or `database.secret`
    /// changes; call it yourself for credentials you manage.
    ///
    /// ```no_run
    /// # async fn f(db: servicekit::db::Database) -> Result<(), servicekit::db::DbError> {
    /// use secrecy::SecretString;
    ///
    /// let url = SecretString::from("postgres://app:n3w-pa55@db:5432/students");
    /// db.rotate_credentials(&url).await?;
    /// # Ok(()) }
    /// ```
    pub async fn rotate_credentials(&self, url: &SecretString) -> Result<(), DbError> {
        let url = for_sqlx(url.expose_secret());
        let kind = DbKind::from_url(&url).map_err(DbError::Url)?;
        let rejected = |source| DbError::Rotation {
            url: redact_url(&url),
            source,
        };
        if kind != self.kind {
            return Err(rejected(sqlx::Error::Configuration(
                format!("the pool is {} and cannot switch to {kind}", self.kind).into(),
            )));
        }
        let options = connect_options::<DB>(&url).map_err(rejected)?;
        let probe = options.connect().await.map_err(rejected)?;
        let _ = sqlx::Connection::close(probe).await;
        self.pool.set_connect_options(options);
        self.rotation.mark_rotated();
        // The new credentials just connected: requests may use the pool again.
        self.outage.mark_up();
        // A connect that began with the old options can complete after the mark and would
        // look new. sqlx bounds every connect by the acquire timeout, so mark again once that
        // has passed: such a connection retires too (and connections opened in between are
        // replaced once more, which is cheap).
        let rotation = Arc::clone(&self.rotation);
        let settle = self.pool.options().get_acquire_timeout();
        tokio::spawn(async move {
            tokio::time::sleep(settle).await;
            rotation.mark_rotated();
        });
        tracing::info!(url = %redact_url(&url), "database credentials rotated; older connections retire as they finish");
        Ok(())
    }

    /// Resolves when the database has refused this pool's credentials (seen by a request, by
    /// [`Database::ping`], which the readiness check runs, or by the outage probe).
    pub(crate) async fn credentials_refused(&self) {
        self.rotation.refused.notified().await;
    }

    /// Records `error` from a query or connection: refused credentials trigger an immediate
    /// fetch of the database secrets (where the service follows them), and an unavailable
    /// database a probe (see [`Database::is_down`]). [`Problem`](crate::Problem) does this for
    /// the errors handlers return; call it for errors you handle yourself.
    pub fn observe_error(&self, error: &sqlx::Error) {
        self.outage.report(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_older_than_the_rotation_retire() {
        let rotation = Rotation::default();
        assert!(
            !rotation.is_retired(Duration::from_secs(3600)),
            "never rotated"
        );
        rotation.mark_rotated();
        assert!(
            rotation.is_retired(Duration::from_secs(3600)),
            "opened before"
        );
        assert!(!rotation.is_retired(Duration::ZERO), "opened after");
    }

    #[tokio::test]
    async fn sqlite_pools_switch_files_and_retire_old_connections() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
        let config = crate::db::DatabaseConfig {
            url: Some(SecretString::from(url("a.db"))),
            ..Default::default()
        };
        let db = Database::connect(&config, "svc").await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(db.pool())
            .await
            .unwrap();
        let held = db.pool().acquire().await.unwrap();

        db.rotate_credentials(&SecretString::from(url("b.db")))
            .await
            .unwrap();

        // New work goes to the new database; the held connection still works, then retires.
        let err = sqlx::query("SELECT v FROM t").fetch_all(db.pool()).await;
        assert!(err.is_err(), "b.db has no table t");
        let mut held = held;
        sqlx::query("SELECT v FROM t")
            .fetch_all(&mut *held)
            .await
            .unwrap();
        drop(held);
        let other = Database::connect(&config, "svc").await.unwrap();
        assert!(
            sqlx::query("SELECT v FROM t")
                .fetch_all(other.pool())
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_backend_change_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::db::DatabaseConfig {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let db = Database::connect(&config, "svc").await.unwrap();
        let err = db
            .rotate_credentials(&SecretString::from("postgres://u:pw@127.0.0.1:1/x"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot switch to postgres"), "{text}");
        assert!(!text.contains(":pw@"), "{text}");
    }
}
