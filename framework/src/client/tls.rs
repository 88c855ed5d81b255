//! `[clients.<name>.tls]`: the private CA a downstream's certificate chains to, and the client
//! certificate presented to it (mutual TLS). reqwest's rustls backend does the handshake and
//! verifies the server's name (with DNS discovery too, the name of `base_url`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[clients.<name>.tls]`: TLS towards an `https://` downstream.
///
/// ```toml
/// [clients.student-service]
/// base_url = "https://student-service:8443"
///
/// [clients.student-service.tls]
/// ca_file = "/run/tls/ca.crt"
/// cert_file = "/run/tls/client.crt"
/// key_file = "/run/tls/client.key"
/// ```
///
/// With servicekit's `tls` feature, a rotated client certificate (the files replaced) is
/// presented from the next new connection on; without it the files are read once, when the
/// client is built. See `docs/tls.md`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// A PEM bundle of CA certificates trusted for the downstream, on top of the system's roots
    /// (the same as `clients.<name>.ca_file`; both may be set).
    pub ca_file: Option<PathBuf>,
    /// The client certificate chain (PEM) presented to the downstream; needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// The client identity of `tls` (`None` without `cert_file`); the error names the key below
/// `clients.<name>`.
pub(crate) fn identity(
    tls: &ClientTlsConfig,
) -> Result<Option<reqwest::Identity>, (&'static str, String)> {
    let (cert, key) = match (&tls.cert_file, &tls.key_file) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => {
            return Err((
                "tls.key_file",
                "not set: tls.cert_file needs its private key".into(),
            ));
        }
        (None, Some(_)) => {
            return Err((
                "tls.cert_file",
                "not set: tls.key_file needs its certificate".into(),
            ));
        }
    };
    let mut pem = read("tls.cert_file", cert)?;
    pem.push(b'\n');
    pem.extend(read("tls.key_file", key)?);
    reqwest::Identity::from_pem(&pem).map(Some).map_err(|e| {
        (
            "tls.cert_file",
            format!(
                "`{}` and `{}` are not a PEM certificate and private key: {e}",
                cert.display(),
                key.display()
            ),
        )
    })
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, (&'static str, String)> {
    std::fs::read(path).map_err(|e| (key, format!("cannot read `{}`: {e}", path.display())))
}
