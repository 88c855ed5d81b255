//! Reading the PEM material of `[server.tls]`: a value is a path, or (after a secret
//! reference was resolved) the PEM text itself.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use secrecy::ExposeSecret;
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;

use super::TlsConfig;
use crate::invalid::InvalidSetting;

/// The one crypto provider of the tree: aws-lc-rs (reqwest, sqlx and jsonwebtoken use it too).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider())
}

/// Whether `value` is PEM text (a resolved secret) rather than a path.
fn is_inline(value: &str) -> bool {
    value.trim_start().starts_with("-----BEGIN")
}

/// The bytes of `value` (below `server.tls.<key>`).
fn read(key: &str, value: &str) -> Result<Vec<u8>, InvalidSetting> {
    if is_inline(value) {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|e| {
        InvalidSetting::new(
            format!("server.tls.{key}"),
            format!("cannot read `{value}`: {e}"),
            "point it at a readable PEM file (check the path and the file's permissions for \
             the service's user), or use a secret reference",
        )
    })
}

/// The certificate and key of `tls`, checked to belong together.
pub(crate) fn certified_key(tls: &TlsConfig) -> Result<Arc<CertifiedKey>, InvalidSetting> {
    let cert_pem = read("cert_file", &tls.cert_file)?;
    let chain = certificates(&cert_pem)
        .map_err(|message| bad_pem("cert_file", &tls.cert_file, &message, "certificate"))?;
    let key_pem = read("key_file", tls.key_file.expose_secret())?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        bad_pem(
            "key_file",
            tls.key_file.expose_secret(),
            &format!("no private key: {e}"),
            "private key",
        )
    })?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| {
            InvalidSetting::new(
                "server.tls.key_file",
                format!("the key does not belong to the certificate of server.tls.cert_file: {e}"),
                "set key_file to the private key the certificate was issued for (both files of \
                 one issuance, e.g. a Kubernetes TLS secret's tls.key and tls.crt)",
            )
        })
}

/// The roots of `client_ca_file`, when mutual TLS is on.
pub(crate) fn client_roots(tls: &TlsConfig) -> Result<Option<RootCertStore>, InvalidSetting> {
    let Some(ca) = &tls.client_ca_file else {
        return Ok(None);
    };
    let pem = read("client_ca_file", ca)?;
    let certs = certificates(&pem)
        .map_err(|message| bad_pem("client_ca_file", ca, &message, "CA certificate"))?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            bad_pem(
                "client_ca_file",
                ca,
                &format!("a certificate is not a usable CA: {e}"),
                "CA certificate",
            )
        })?;
    }
    Ok(Some(roots))
}

/// The certificates of a PEM bundle, at least one.
pub(crate) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unreadable PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

fn bad_pem(key: &str, value: &str, message: &str, what: &str) -> InvalidSetting {
    let shown = if is_inline(value) {
        "the referenced secret".to_string()
    } else {
        format!("`{value}`")
    };
    InvalidSetting::new(
        format!("server.tls.{key}"),
        format!("{shown}: {message}"),
        format!("give a PEM file holding the {what} (`-----BEGIN ...-----` blocks)"),
    )
}

/// What identifies a version of the files of `tls` given by path: modification time and
/// length of the certificate, the key and the client CA bundle, in that order (inline PEM
/// has no entry: it changes through its secret).
pub(crate) fn stamp(tls: &TlsConfig) -> Vec<Option<(SystemTime, u64)>> {
    [
        Some(tls.cert_file.as_str()),
        Some(tls.key_file.expose_secret()),
        tls.client_ca_file.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|value| !is_inline(value))
    .map(|path| {
        std::fs::metadata(Path::new(path))
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    })
    .collect()
}

/// Whether `client_ca_file` is set to a path (the last entry of [`stamp`]).
pub(crate) fn client_ca_is_path(tls: &TlsConfig) -> bool {
    tls.client_ca_file
        .as_deref()
        .is_some_and(|ca| !is_inline(ca))
}
