//! The rustls configuration of a `ServiceClient` that presents a client certificate: the
//! verification reqwest does by default (system roots plus `ca_file`), ALPN h2 and http/1.1,
//! and a client certificate re-read when its files change.
//!
//! The files are checked (two `stat` calls) at each new handshake rather than by a timer: a
//! client handshakes only when it opens a connection, which costs far more, and a client built
//! outside a runtime needs no background task.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use tokio_rustls::rustls::client::ResolvesClientCert;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{ClientConfig, SignatureScheme};

use super::source::{certificates, provider};

type Stamp = [Option<(SystemTime, u64)>; 2];

/// The client certificate, reloaded when `cert_file` or `key_file` change.
#[derive(Debug)]
struct ReloadingClientCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    loaded: Mutex<Stamp>,
}

impl ReloadingClientCert {
    fn stamp(&self) -> Stamp {
        [&self.cert_file, &self.key_file].map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
    }

    /// Loads the pair again if the files changed since the last load; on failure (a pair
    /// being replaced) the previous certificate stays.
    fn refresh(&self) {
        let now = self.stamp();
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if *loaded == now {
            return;
        }
        match load(&self.cert_file, &self.key_file) {
            Ok(key) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
                *loaded = now;
                tracing::info!(cert_file = %self.cert_file.display(), "client certificate reloaded");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "client certificate files changed but do not load; presenting the previous one"
            ),
        }
    }
}

impl ResolvesClientCert for ReloadingClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.refresh();
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn load(cert_file: &PathBuf, key_file: &PathBuf) -> Result<Arc<CertifiedKey>, String> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    };
    let chain =
        certificates(&read(cert_file)?).map_err(|e| format!("`{}`: {e}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| format!("`{}`: no private key: {e}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| format!("the key does not belong to the certificate: {e}"))
}

/// A rustls client configuration trusting the system's roots and the PEM bundles `ca_pems`,
/// presenting the (reloading) certificate of `cert_file` and `key_file`.
pub(crate) fn client_config(
    ca_pems: &[Vec<u8>],
    cert_file: PathBuf,
    key_file: PathBuf,
) -> Result<ClientConfig, String> {
    let mut roots: Vec<CertificateDer<'static>> = Vec::new();
    for pem in ca_pems {
        roots.extend(certificates(pem)?);
    }
    let provider = provider();
    let verifier = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
    }
    .map_err(|e| format!("cannot load the trusted roots: {e}"))?;
    let cert = ReloadingClientCert {
        current: RwLock::new(load(&cert_file, &key_file)?),
        loaded: Mutex::new([None, None]),
        cert_file,
        key_file,
    };
    *cert.loaded.lock().unwrap_or_else(|e| e.into_inner()) = cert.stamp();
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(cert));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
