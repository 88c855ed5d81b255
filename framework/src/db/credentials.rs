//! The database URL from `database.url`, `database.password` and `database.secret` (the JSON
//! that RDS and the AWS rotation functions write).

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use super::DatabaseConfig;
use crate::secrets::json::{parse_object, wipe_map};

/// Why the configured credentials do not make a URL; names the key to fix, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CredentialsError {
    /// The key to fix, e.g. `database.secret`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to correct it.
    pub fix: String,
}

fn fail(key: &'static str, message: impl Into<String>, fix: impl Into<String>) -> CredentialsError {
    CredentialsError {
        key,
        message: message.into(),
        fix: fix.into(),
    }
}

/// The fix for a `database.url` that cannot take a password.
const URL_FIX: &str = "set database.url to the server's URL without a password, e.g. \
                       `postgres://app@db:5432/students` (SERVICEKIT__DATABASE__URL or DATABASE_URL)";

/// The fix for a `database.secret` that is not the RDS JSON.
const SECRET_FIX: &str = "point database.secret at the JSON secret RDS or its rotation function \
                          writes, e.g. `aws-sm://prod/student-db` (SERVICEKIT__DATABASE__SECRET)";

/// The URL `config` describes, or `None` for the default SQLite file:
/// - `database.secret`: a JSON secret with `engine`, `host`, `port`, `username`, `password`,
///   `dbname`, as RDS and the AWS rotation functions write it;
/// - else `database.url`, with its password replaced by `database.password` if that is set.
pub(crate) fn configured_url(
    config: &DatabaseConfig,
) -> Result<Option<SecretString>, CredentialsError> {
    match (&config.secret, &config.url, &config.password) {
        (Some(_), Some(_), _) => Err(fail(
            "database.secret",
            "set either database.secret or database.url, not both",
            "remove database.url (and DATABASE_URL) to connect with the secret, or remove \
             database.secret to connect with the URL",
        )),
        (Some(_), None, Some(_)) => Err(fail(
            "database.password",
            "database.secret already holds the password",
            "remove database.password (and SERVICEKIT__DATABASE__PASSWORD)",
        )),
        (Some(secret), None, None) => rds_url(secret.expose_secret()).map(Some),
        (None, Some(url), None) => Ok(Some(url.clone())),
        (None, Some(url), Some(password)) => with_password(url, password).map(Some),
        (None, None, Some(_)) => Err(fail(
            "database.password",
            "needs database.url (without a password) to know where to connect",
            URL_FIX,
        )),
        (None, None, None) => Ok(None),
    }
}

/// `url` with its password replaced (percent-encoded).
fn with_password(
    url: &SecretString,
    password: &SecretString,
) -> Result<SecretString, CredentialsError> {
    let mut parsed = url::Url::parse(url.expose_secret())
        .map_err(|e| fail("database.url", format!("not a URL ({e})"), URL_FIX))?;
    if parsed.scheme().eq_ignore_ascii_case("sqlite") {
        return Err(fail(
            "database.password",
            "applies to PostgreSQL and MySQL/MariaDB URLs, not SQLite",
            "remove database.password: a SQLite file has no password",
        ));
    }
    parsed
        .set_password(Some(&encode(password.expose_secret())))
        .map_err(|()| {
            fail(
                "database.url",
                "has no host to attach a password to",
                URL_FIX,
            )
        })?;
    Ok(SecretString::from(String::from(parsed)))
}

/// Builds `engine://username:password@host:port/dbname` from the RDS JSON secret.
fn rds_url(json: &str) -> Result<SecretString, CredentialsError> {
    const KEY: &str = "database.secret";
    let mut map = parse_object(json.as_bytes()).map_err(|why| {
        fail(
            KEY,
            format!(
                "the secret {why}; expected the RDS JSON \
                 {{\"engine\",\"host\",\"port\",\"username\",\"password\",\"dbname\"}}"
            ),
            SECRET_FIX,
        )
    })?;
    let url = build(&map);
    wipe_map(&mut map);
    url.map_err(|message| fail(KEY, message, SECRET_FIX))
}

fn build(map: &serde_json::Map<String, Value>) -> Result<SecretString, String> {
    let text = |name: &str| -> Result<Option<String>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(format!("the field `{name}` is not a string or number")),
        }
    };
    let required =
        |name: &str| text(name)?.ok_or_else(|| format!("the JSON secret has no field `{name}`"));
    let engine = required("engine")?;
    let (scheme, default_port) = match engine.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "aurora-postgresql" => ("postgres", 5432),
        "mysql" | "aurora-mysql" | "aurora" => ("mysql", 3306),
        "mariadb" => ("mariadb", 3306),
        other => {
            return Err(format!(
                "engine `{other}` is not supported: use postgres, mysql or mariadb"
            ));
        }
    };
    let host = required("host")?;
    let port = match text("port")? {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| "the field `port` is not a port number".to_string())?,
    };
    let mut url = url::Url::parse(&format!("{scheme}://localhost"))
        .map_err(|e| format!("cannot build the URL: {e}"))?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    url.set_host(Some(&host))
        .map_err(|e| format!("the field `host` is not a host name or address ({e})"))?;
    // These only fail for URLs without a host, which this one has.
    let _ = url.set_port(Some(port));
    let mut username = required("username")?;
    let mut password = required("password")?;
    let _ = url.set_username(&encode(&username));
    let _ = url.set_password(Some(&encode(&password)));
    username.zeroize();
    password.zeroize();
    if let Some(dbname) = text("dbname")? {
        url.set_path(&format!("/{dbname}"));
    }
    Ok(SecretString::from(String::from(url)))
}

/// Percent-encodes everything but RFC 3986 unreserved characters. The `url` crate leaves `%`
/// alone in user info, which would make a password containing `%` decode to something else.
fn encode(text: &str) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Zeroizing::new(String::with_capacity(text.len() * 3));
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: Option<&str>, password: Option<&str>, secret: Option<&str>) -> DatabaseConfig {
        DatabaseConfig {
            url: url.map(SecretString::from),
            password: password.map(SecretString::from),
            secret: secret.map(SecretString::from),
            ..DatabaseConfig::default()
        }
    }

    fn url_of(config: &DatabaseConfig) -> String {
        configured_url(config)
            .unwrap()
            .unwrap()
            .expose_secret()
            .to_string()
    }

    #[test]
    fn rds_json_becomes_a_url_with_an_encoded_password() {
        let secret = r#"{"engine":"postgres","host":"db.example.org","port":5432,
            "username":"app","password":"p@ss:w/rd?#%","dbname":"students"}"#;
        let url = url_of(&config(None, None, Some(secret)));
        assert_eq!(
            url,
            "postgres://app:p%40ss%3Aw%2Frd%3F%23%25@db.example.org:5432/students"
        );
        let parsed = url::Url::parse(&url).unwrap();
        let decoded = percent_decode(parsed.password().unwrap());
        assert_eq!(decoded, "p@ss:w/rd?#%");
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn engines_ports_and_ipv6_hosts() {
        let mysql = r#"{"engine":"mariadb","host":"::1","username":"u","password":"p"}"#;
        assert_eq!(
            url_of(&config(None, None, Some(mysql))),
            "mariadb://u:p@[::1]:3306"
        );
        let aurora = r#"{"engine":"aurora-postgresql","host":"h","port":"6432",
            "username":"u","password":"p","dbname":"d"}"#;
        assert_eq!(
            url_of(&config(None, None, Some(aurora))),
            "postgres://u:p@h:6432/d"
        );
    }

    #[test]
    fn bad_secrets_name_the_problem_without_values() {
        for (secret, expected) in [
            ("hunter2", "is not JSON"),
            (
                r#"{"engine":"oracle","host":"h","username":"u","password":"hunter2"}"#,
                "`oracle`",
            ),
            (
                r#"{"engine":"postgres","host":"h","username":"u"}"#,
                "no field `password`",
            ),
            (
                r#"{"engine":"postgres","host":"h","port":"x","username":"u","password":"hunter2"}"#,
                "`port`",
            ),
        ] {
            let err = configured_url(&config(None, None, Some(secret))).unwrap_err();
            assert_eq!(err.key, "database.secret");
            assert!(err.message.contains(expected), "{err}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_password_replaces_the_urls_own() {
        let c = config(Some("postgres://app:old@db/students"), Some("n3w/pw"), None);
        assert_eq!(url_of(&c), "postgres://app:n3w%2Fpw@db/students");
        let c = config(Some("postgres://app@db/students"), Some("pw"), None);
        assert_eq!(url_of(&c), "postgres://app:pw@db/students");
    }

    #[test]
    fn conflicting_or_incomplete_settings_name_the_key() {
        let both = config(Some("postgres://db/x"), None, Some("{}"));
        assert_eq!(configured_url(&both).unwrap_err().key, "database.secret");
        let lonely = config(None, Some("pw"), None);
        assert_eq!(
            configured_url(&lonely).unwrap_err().key,
            "database.password"
        );
        let sqlite = config(Some("sqlite://data/x.db"), Some("pw"), None);
        assert_eq!(
            configured_url(&sqlite).unwrap_err().key,
            "database.password"
        );
        assert!(configured_url(&config(None, None, None)).unwrap().is_none());
    }
}
