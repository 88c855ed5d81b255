//! Certificate reload: a rustls certificate resolver whose certificate is swapped when the
//! files change, so new handshakes use the new certificate while open connections (which
//! finished their handshake) are untouched.
//!
//! Files are polled (modification time and length) every `server.tls.reload_interval` rather
//! than watched with inotify: Kubernetes updates mounted secrets by swapping a symlink, which
//! file watches miss, and a poll of two `stat` calls every few seconds costs nothing. A new
//! pair that does not load (a half-written file, a key that does not match yet) is logged and
//! retried at the next poll while the previous certificate keeps serving.

use std::sync::{Arc, RwLock, Weak};

use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use super::TlsConfig;
use super::source::{certified_key, stamp};
use crate::telemetry::catalog::TLS_CERTIFICATE_RELOADS_TOTAL;

/// The current certificate; read on each handshake, replaced on reload.
#[derive(Debug)]
pub(crate) struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    pub(crate) fn new(key: Arc<CertifiedKey>) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(key),
        })
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// Polls the files of `tls` and swaps the certificate of `cert` when they change; ends when
/// `cert` is dropped (the server stopped).
pub(crate) fn spawn(tls: TlsConfig, cert: &Arc<ReloadingCert>) {
    let cert: Weak<ReloadingCert> = Arc::downgrade(cert);
    let mut loaded = stamp(&tls);
    if loaded.is_empty() {
        // Inline PEM from secret references: nothing to poll.
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(tls.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(cert) = cert.upgrade() else {
                return;
            };
            let now = stamp(&tls);
            if now == loaded {
                continue;
            }
            let loaded_key = certified_key(&tls);
            let outcome = if loaded_key.is_ok() { "ok" } else { "failed" };
            metrics::counter!(TLS_CERTIFICATE_RELOADS_TOTAL, "outcome" => outcome).increment(1);
            match loaded_key {
                Ok(key) => {
                    cert.set(key);
                    loaded = now;
                    tracing::info!(cert_file = %tls.cert_file, "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate files changed but do not load; \
                        serving the previous certificate and retrying");
                }
            }
        }
    });
}
