//! Which database a URL points at, and how to print that URL without its password.

use std::fmt;

/// The database backends servicekit connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// SQLite, the embedded default (`sqlite://path/to/file.db`).
    Sqlite,
    /// PostgreSQL (`postgres://` or `postgresql://`).
    Postgres,
    /// MySQL or MariaDB (`mysql://` or `mariadb://`).
    MySql,
}

/// A database URL whose scheme servicekit does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported database URL scheme `{scheme}`: use `postgres://`, `mysql://`, `mariadb://` or `sqlite://`"
)]
pub struct UnsupportedScheme {
    scheme: String,
}

/// A database URL for a backend whose driver this build of servicekit leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} support is not compiled in: enable servicekit's `{feature}` cargo feature (`servicekit = {{ version = \"..\", features = [\"{feature}\"] }}`) or use another database",
    feature = kind.feature()
)]
pub struct DriverNotCompiled {
    kind: DbKind,
}

impl DriverNotCompiled {
    /// The backend whose driver is missing.
    pub fn kind(&self) -> DbKind {
        self.kind
    }
}

impl DbKind {
    /// Detects the backend from a URL's scheme.
    ///
    /// ```
    /// use servicekit::db::DbKind;
    /// assert_eq!(DbKind::from_url("postgres://db/app").unwrap(), DbKind::Postgres);
    /// assert_eq!(DbKind::from_url("mariadb://db/app").unwrap(), DbKind::MySql);
    /// assert!(DbKind::from_url("oracle://db").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<Self, UnsupportedScheme> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(UnsupportedScheme {
                scheme: scheme.to_string(),
            }),
        }
    }

    /// The cargo feature of servicekit that compiles this backend's driver (`sqlite`,
    /// `postgres`, `mysql`).
    pub fn feature(self) -> &'static str {
        self.as_str()
    }

    /// Whether this build of servicekit includes the driver for this backend; `Err` names the
    /// feature to enable.
    ///
    /// ```
    /// use servicekit::db::DbKind;
    /// # #[cfg(not(feature = "mysql"))]
    /// assert!(DbKind::MySql.ensure_compiled().unwrap_err().to_string().contains("`mysql` cargo feature"));
    /// ```
    pub fn ensure_compiled(self) -> Result<(), DriverNotCompiled> {
        if crate::features::Compiled::THIS_BUILD.has_driver(self) {
            Ok(())
        } else {
            Err(DriverNotCompiled { kind: self })
        }
    }

    /// The lower-case name used in logs and migration folders (`sqlite`, `postgres`, `mysql`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The URL with its password (and any `password=` query parameter) replaced by `[redacted]`.
///
/// ```
/// use servicekit::db::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:hunter2@db:5432/students"),
///     "postgres://app:[redacted]@db:5432/students"
/// );
/// ```
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Not a URL we can take apart: show only its scheme.
        let scheme = raw.split_once(':').map(|(s, _)| s).unwrap_or("database");
        return format!("{scheme}://[unparseable URL redacted]");
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("[redacted]"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret =
                k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
            let v = if secret {
                "[redacted]".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%5Bredacted%5D", "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_drivers_name_the_feature() {
        for kind in [DbKind::Sqlite, DbKind::Postgres, DbKind::MySql] {
            let compiled = crate::features::Compiled::THIS_BUILD.has_driver(kind);
            assert_eq!(kind.ensure_compiled().is_ok(), compiled, "{kind}");
        }
        // Whatever this build holds, the message for a missing driver is the same.
        let text = DriverNotCompiled {
            kind: DbKind::Postgres,
        }
        .to_string();
        assert!(
            text.starts_with(
                "postgres support is not compiled in: enable servicekit's `postgres` cargo feature"
            ),
            "{text}"
        );
    }

    #[test]
    fn redacts_password_and_query_password() {
        let r =
            redact_url("mysql://root:s3cret@127.0.0.1:3306/db?password=other&ssl-mode=disabled");
        assert!(!r.contains("s3cret"), "{r}");
        assert!(!r.contains("other"), "{r}");
        assert!(r.contains("ssl-mode=disabled"), "{r}");
    }

    #[test]
    fn leaves_passwordless_urls_alone() {
        assert_eq!(
            redact_url("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[test]
    fn unparseable_urls_show_only_scheme() {
        assert_eq!(
            redact_url("postgres://a:b@[::1"),
            "postgres://[unparseable URL redacted]"
        );
    }
}
