//! The `[server.tls]` configuration section and the rules serde cannot express.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[server.tls]`: serve the main listener over TLS (the admin port stays plain HTTP).
///
/// `cert_file`, `key_file` and `client_ca_file` are paths to PEM files, or secret references
/// (`aws-sm://..`, `file://..`, `env://..`) whose text is the PEM itself. Files given by path
/// are re-read when they change (checked every `reload_interval`), secret references when the
/// secret store's refresh (`secrets.refresh_interval`) finds a new value; new handshakes use
/// the new certificate and client CAs, and open connections are kept.
///
/// ```toml
/// [server.tls]
/// cert_file = "/run/tls/tls.crt"
/// key_file = "/run/tls/tls.key"
/// client_ca_file = "/run/tls/ca.crt"   # mutual TLS
/// min_version = "1.3"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM, leaf first): a path or a secret reference.
    pub cert_file: String,
    /// The certificate's private key (PEM, PKCS#8, PKCS#1 or SEC1): a path or a secret
    /// reference. Never printed.
    pub key_file: SecretString,
    /// The CA bundle (PEM) client certificates must chain to; set, it turns on mutual TLS:
    /// a client without a certificate signed by it is refused at the handshake.
    pub client_ca_file: Option<String>,
    /// The oldest protocol version accepted (default `1.2`; `1.3` refuses TLS 1.2).
    pub min_version: TlsVersion,
    /// How often the certificate, key and client CA files are checked for a change (default
    /// `5s`).
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: String::new(),
            key_file: SecretString::from(String::new()),
            client_ca_file: None,
            min_version: TlsVersion::V1_2,
            reload_interval: Duration::from_secs(5),
        }
    }
}

/// A TLS protocol version, as `server.tls.min_version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 (and 1.3).
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    V1_3,
}

/// Checks `[server.tls]`: set, it needs the `tls` feature, both files, and (with the feature)
/// PEM that parses into a certificate matching its key.
pub(crate) fn validate(tls: Option<&TlsConfig>) -> Result<(), InvalidSetting> {
    validate_with(tls, cfg!(feature = "tls"))
}

/// [`validate`] in a build with (`compiled`) or without the `tls` feature.
fn validate_with(tls: Option<&TlsConfig>, compiled: bool) -> Result<(), InvalidSetting> {
    let Some(tls) = tls else {
        return Ok(());
    };
    if !compiled {
        return Err(InvalidSetting::new(
            "server.tls",
            crate::features::missing("tls", "serving TLS (`[server.tls]`)"),
            format!("{}, or remove [server.tls]", crate::features::enable("tls")),
        ));
    }
    for (key, value, example) in [
        ("cert_file", tls.cert_file.as_str(), "/run/tls/tls.crt"),
        ("key_file", tls.key_file.expose_secret(), "/run/tls/tls.key"),
    ] {
        if value.trim().is_empty() {
            return Err(InvalidSetting::new(
                format!("server.tls.{key}"),
                "not set: TLS needs a certificate and its key",
                format!(
                    "set it to a PEM file, e.g. `{example}`, or a secret reference \
                     (SERVICEKIT__SERVER__TLS__{})",
                    key.to_ascii_uppercase()
                ),
            ));
        }
    }
    if tls.reload_interval.is_zero() {
        return Err(InvalidSetting::new(
            "server.tls.reload_interval",
            "must be longer than 0s",
            "set it to a duration such as `5s` (SERVICEKIT__SERVER__TLS__RELOAD_INTERVAL)",
        ));
    }
    #[cfg(feature = "tls")]
    {
        super::source::certified_key(tls)?;
        super::source::client_roots(tls)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cert: &str, key: &str) -> TlsConfig {
        TlsConfig {
            cert_file: cert.into(),
            key_file: SecretString::from(key.to_string()),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn tls_without_the_feature_names_the_feature() {
        assert_eq!(validate_with(None, false), Ok(()));
        let err = validate_with(Some(&set("a.crt", "a.key")), false).unwrap_err();
        assert_eq!(err.key, "server.tls");
        assert!(err.message.contains("`tls` cargo feature"), "{err}");
        assert!(err.fix.contains("features = [\"tls\"]"), "{err}");
    }

    #[test]
    fn both_files_are_needed() {
        let err = validate_with(Some(&set("", "a.key")), true).unwrap_err();
        assert_eq!(err.key, "server.tls.cert_file");
        let err = validate_with(Some(&set("a.crt", " ")), true).unwrap_err();
        assert_eq!(err.key, "server.tls.key_file");
    }

    #[test]
    fn min_version_reads_1_2_and_1_3() {
        let parse = |v: &str| serde_json::from_value::<TlsVersion>(serde_json::json!(v));
        assert_eq!(parse("1.2").unwrap(), TlsVersion::V1_2);
        assert_eq!(parse("1.3").unwrap(), TlsVersion::V1_3);
        assert!(parse("1.1").is_err());
    }
}
