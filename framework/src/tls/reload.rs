//! Reload: the certificate, its key and the client CA bundle are loaded again when they
//! change, so new handshakes use the new material while open connections (which finished
//! their handshake) are untouched.
//!
//! Two sources of change, one task:
//! - values given by path are polled (modification time and length) every
//!   `server.tls.reload_interval` rather than watched with inotify: Kubernetes updates mounted
//!   secrets by swapping a symlink, which file watches miss, and a poll of three `stat` calls
//!   every few seconds costs nothing;
//! - values given by a secret reference (`aws-sm://`, `file://`, `env://`) follow the secret
//!   store: when its refresh (every `secrets.refresh_interval`) finds a new value, the new PEM
//!   is loaded, as the database pool follows a rotated `database.url`.
//!
//! A new set that does not load (a half-written file, a key that does not match its
//! certificate yet, a CA bundle without a certificate) is logged and retried at the next poll
//! while the previous material keeps serving. The certificate is swapped in the rustls
//! resolver; a new client CA builds a new rustls configuration that the next handshake picks up.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, Weak};

use secrecy::SecretString;
use tokio::sync::watch;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use super::TlsConfig;
use super::server::rustls_config;
use super::source::{certified_key, stamp};
use crate::secrets::{Secret, Secrets};
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

/// The rustls configuration the next handshake uses: replaced when the client CA changes.
#[derive(Debug)]
pub(crate) struct CurrentConfig {
    config: RwLock<Arc<RustlsConfig>>,
    cert: Arc<ReloadingCert>,
}

impl CurrentConfig {
    pub(crate) fn new(config: RustlsConfig, cert: Arc<ReloadingCert>) -> Arc<Self> {
        Arc::new(Self {
            config: RwLock::new(Arc::new(config)),
            cert,
        })
    }

    /// The configuration for a new handshake.
    pub(crate) fn get(&self) -> Arc<RustlsConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads `tls` and swaps it in, all or nothing: a certificate that loads with a CA bundle
    /// that does not keeps both previous ones.
    fn load(&self, tls: &TlsConfig, client_ca_changed: bool) -> Result<(), String> {
        let key = certified_key(tls).map_err(|e| e.to_string())?;
        let config = if client_ca_changed {
            Some(rustls_config(tls, self.cert.clone()).map_err(|e| e.to_string())?)
        } else {
            None
        };
        self.cert.set(key);
        if let Some(config) = config {
            *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        }
        Ok(())
    }
}

/// The configuration keys below `[server.tls]` that may be secret references, and the field
/// each sets.
const FOLLOWED: [(&str, Field); 3] = [
    ("server.tls.cert_file", Field::Cert),
    ("server.tls.key_file", Field::Key),
    ("server.tls.client_ca_file", Field::ClientCa),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Cert,
    Key,
    ClientCa,
}

impl Field {
    fn set(self, tls: &mut TlsConfig, text: &str) {
        match self {
            Self::Cert => tls.cert_file = text.to_string(),
            Self::Key => tls.key_file = SecretString::from(text.to_string()),
            Self::ClientCa => tls.client_ca_file = Some(text.to_string()),
        }
    }
}

/// Starts the task that reloads `current` when the files of `tls` or the secrets behind its
/// keys (`refs`: configuration key to reference) change; it ends when `current` is dropped
/// (the server stopped). Nothing starts when there is nothing to follow.
pub(crate) fn spawn(
    tls: TlsConfig,
    current: &Arc<CurrentConfig>,
    refs: &BTreeMap<String, String>,
    secrets: &Secrets,
) {
    let followed: Vec<(Field, String)> = FOLLOWED
        .iter()
        .filter_map(|(key, field)| Some((*field, refs.get(*key)?.clone())))
        .collect();
    if stamp(&tls).is_empty() && followed.is_empty() {
        // Inline PEM that no secret reference stands behind: nothing can change.
        return;
    }
    let current: Weak<CurrentConfig> = Arc::downgrade(current);
    let secrets = secrets.clone();
    tokio::spawn(async move {
        let mut watched = Vec::new();
        for (field, reference) in followed {
            match secrets.subscribe(&reference).await {
                Ok(mut rx) => {
                    rx.borrow_and_update();
                    watched.push((field, rx));
                }
                Err(error) => tracing::warn!(
                    %error,
                    "cannot follow a TLS secret; its rotation needs a restart"
                ),
            }
        }
        drop(secrets);
        Reloader { tls, current }.run(watched).await;
    });
}

struct Reloader {
    tls: TlsConfig,
    current: Weak<CurrentConfig>,
}

impl Reloader {
    async fn run(mut self, mut watched: Vec<(Field, watch::Receiver<Secret>)>) {
        let mut tick = tokio::time::interval(self.tls.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut loaded = stamp(&self.tls);
        // Set by a secret change, with whether it was the client CA's, until a load succeeds.
        // Only the next change retries it: a secret's value does not change between refreshes.
        let mut pending: Option<bool> = None;
        loop {
            let changed = tokio::select! {
                _ = tick.tick() => None,
                field = any_changed(&mut watched) => Some(field),
            };
            let Some(current) = self.current.upgrade() else {
                return;
            };
            let secret_changed = changed.is_some();
            match changed {
                Some(Some((field, value))) => {
                    let Some(text) = value.expose_str() else {
                        tracing::warn!(
                            "a TLS secret changed to a value that is not text; keeping the \
                             current certificate"
                        );
                        continue;
                    };
                    field.set(&mut self.tls, text);
                    let ca = pending.unwrap_or(false) || field == Field::ClientCa;
                    pending = Some(ca);
                }
                Some(None) => {
                    // Every secret's sender is gone: only the files are left to poll.
                    watched.clear();
                    continue;
                }
                None => {}
            }
            let now = stamp(&self.tls);
            let files_changed = now != loaded;
            if !files_changed && !secret_changed {
                continue;
            }
            let ca_changed = pending.unwrap_or(false)
                || (files_changed && self.client_ca_stamp_changed(&loaded, &now));
            let outcome = current.load(&self.tls, ca_changed);
            let label = if outcome.is_ok() { "ok" } else { "failed" };
            metrics::counter!(TLS_CERTIFICATE_RELOADS_TOTAL, "outcome" => label).increment(1);
            match outcome {
                Ok(()) => {
                    loaded = now;
                    pending = None;
                    tracing::info!(
                        client_ca = ca_changed,
                        "TLS certificate reloaded; new handshakes use it"
                    );
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "TLS certificate material changed but does not load; serving the \
                     previous one until a change loads"
                ),
            }
        }
    }

    /// Whether the entry of the client CA file (the last of [`stamp`], when given by path)
    /// changed between `before` and `now`.
    fn client_ca_stamp_changed(
        &self,
        before: &[Option<(std::time::SystemTime, u64)>],
        now: &[Option<(std::time::SystemTime, u64)>],
    ) -> bool {
        super::source::client_ca_is_path(&self.tls) && before.last() != now.last()
    }
}

/// The first of `watched` that sees a new value, with the value; `None` once all senders are
/// gone; never with nothing to watch.
async fn any_changed(watched: &mut [(Field, watch::Receiver<Secret>)]) -> Option<(Field, Secret)> {
    if watched.is_empty() {
        return std::future::pending().await;
    }
    let futures = watched.iter_mut().map(|(field, rx)| {
        Box::pin(async move {
            rx.changed().await.ok()?;
            Some((*field, rx.borrow_and_update().clone()))
        })
    });
    let mut remaining: Vec<_> = futures.collect();
    while !remaining.is_empty() {
        let (result, _, rest) = futures_util::future::select_all(remaining).await;
        if result.is_some() {
            return result;
        }
        remaining = rest;
    }
    None
}
