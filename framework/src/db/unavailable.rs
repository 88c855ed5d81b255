//! Which database errors mean "the database is unavailable right now" rather than a bug.

/// Whether `error` says the database cannot be reached, dropped the connection or refused the
/// service's credentials, so that a retry later can succeed: a handler answers it with 503 and
/// `Retry-After`, not 500.
///
/// These are:
/// - I/O and TLS failures, and protocol errors (a proxy or load balancer that accepts and closes
///   at once makes PostgreSQL's driver report `unexpected response from SSLRequest`; the
///   connection is broken, a new one is needed);
/// - a pool timeout, a closed pool, a crashed SQLite worker;
/// - refused credentials ([`is_refused_credentials`]);
/// - database errors of SQLSTATE class `08` (connection exception, also used by MySQL/MariaDB),
///   `57P01`-`57P03` (PostgreSQL shutting down, terminated by an administrator, not accepting
///   connections yet), `53300` (too many connections) and `55000` with PostgreSQL's "not
///   currently accepting connections" (a database closed with `ALLOW_CONNECTIONS false`);
/// - MySQL/MariaDB errors 1040 (too many connections), 1053 (server shutdown), 1203 (user's
///   connection limit) and 1927 (connection killed).
///
/// ```
/// use servicekit::db::is_unavailable;
///
/// assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
/// assert!(is_unavailable(&sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into())));
/// assert!(!is_unavailable(&sqlx::Error::RowNotFound));
/// ```
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => {
            let by_code = match e.code().as_deref() {
                Some(code) if code.starts_with("08") || code.starts_with("28") => true,
                Some("57P01" | "57P02" | "57P03" | "53300") => true,
                Some("55000") => e.message().contains("not currently accepting connections"),
                _ => false,
            };
            by_code || mysql_number(error).is_some_and(|n| MYSQL_UNAVAILABLE.contains(&n))
        }
        _ => false,
    }
}

/// MySQL/MariaDB error numbers that mean the server cannot serve this connection now.
const MYSQL_UNAVAILABLE: [u16; 5] = [1040, 1045, 1053, 1203, 1927];

/// Whether `error` is the database refusing the credentials: SQLSTATE class 28 (invalid
/// authorization), as PostgreSQL (28P01, 28000) and MySQL/MariaDB (28000 for error 1045)
/// report it. The service answers such errors with 503 and fetches the database secrets again.
///
/// ```
/// use servicekit::db::is_refused_credentials;
///
/// assert!(!is_refused_credentials(&sqlx::Error::PoolTimedOut));
/// ```
pub fn is_refused_credentials(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            e.code().is_some_and(|code| code.starts_with("28"))
                // MySQL's "access denied" (1045), should its packet lack the SQLSTATE.
                || mysql_number(error) == Some(1045)
        }
        _ => false,
    }
}

#[cfg(feature = "mysql")]
fn mysql_number(error: &sqlx::Error) -> Option<u16> {
    match error {
        sqlx::Error::Database(e) => e
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(sqlx::mysql::MySqlDatabaseError::number),
        _ => None,
    }
}

/// Without the MySQL driver no error carries a MySQL error number.
#[cfg(not(feature = "mysql"))]
fn mysql_number(_error: &sqlx::Error) -> Option<u16> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_level_failures_are_unavailable() {
        let io = |kind| sqlx::Error::Io(std::io::Error::from(kind));
        for error in [
            io(std::io::ErrorKind::ConnectionRefused),
            io(std::io::ErrorKind::UnexpectedEof),
            io(std::io::ErrorKind::ConnectionReset),
            sqlx::Error::Tls("handshake failed".into()),
            sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(is_unavailable(&error), "{error}");
        }
        for error in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Configuration("bad url".into()),
        ] {
            assert!(!is_unavailable(&error), "{error}");
        }
    }
}
