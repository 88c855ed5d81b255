//! Which database errors mean "the database is unavailable right now" rather than a bug.

/// Whether `error` says the database cannot be reached or dropped the connection, so that a
/// retry later can succeed: a handler answers it with 503, not 500.
///
/// These are: I/O and TLS failures, a pool timeout or a closed pool, and database errors of
/// SQLSTATE class `08` (connection exception, also used by MySQL/MariaDB), `57P01`-`57P03`
/// (PostgreSQL shutting down, terminated by an administrator, not accepting connections yet),
/// `53300` (too many connections) and `55000` with PostgreSQL's "not currently accepting
/// connections" (a database closed with `ALLOW_CONNECTIONS false`).
///
/// ```
/// use servicekit::db::is_unavailable;
///
/// assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
/// assert!(!is_unavailable(&sqlx::Error::RowNotFound));
/// ```
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => match e.code().as_deref() {
            Some(code) if code.starts_with("08") => true,
            Some("57P01" | "57P02" | "57P03" | "53300") => true,
            Some("55000") => e.message().contains("not currently accepting connections"),
            _ => false,
        },
        _ => false,
    }
}
