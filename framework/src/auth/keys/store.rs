//! The keys of one issuer: fixed (HMAC secret, PEM) or fetched (JWKS URL, discovery), with the
//! last good set kept when the issuer is down and rate-limited refetches on unknown `kid`s.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::fetch::{discover, fetch_jwks};
use super::key::KeySet;

/// Where a remote key set is found.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Keys given in configuration; never refetched.
    Fixed,
    /// A JWKS URL.
    Jwks(String),
    /// The `jwks_uri` of the issuer's discovery document.
    Discovery,
}

/// The current keys of one issuer.
pub(crate) struct KeyStore {
    issuer: String,
    source: Source,
    http: reqwest::Client,
    min_refetch: Duration,
    state: RwLock<State>,
    /// Held while fetching, so concurrent refetches become one.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    /// The JWKS URL found by discovery.
    discovered: Option<String>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("issuer", &self.issuer)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    /// A store with fixed keys.
    pub(crate) fn fixed(issuer: &str, keys: KeySet) -> Self {
        Self {
            issuer: issuer.to_string(),
            source: Source::Fixed,
            http: reqwest::Client::new(),
            min_refetch: Duration::MAX,
            state: RwLock::new(State {
                keys: Some(Arc::new(keys)),
                ..State::default()
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// A store that fetches its keys from `source`; empty until the first fetch.
    pub(crate) fn remote(
        issuer: &str,
        source: Source,
        http: reqwest::Client,
        min_refetch: Duration,
    ) -> Self {
        Self {
            issuer: issuer.to_string(),
            source,
            http,
            min_refetch,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the keys of a fixed store (its secret or PEM key rotated); from now on only
    /// `keys` verify.
    pub(crate) fn replace(&self, keys: KeySet) {
        self.write().keys = Some(Arc::new(keys));
    }

    /// Whether the keys are fetched (and so need refreshing and a readiness check).
    pub(crate) fn is_remote(&self) -> bool {
        !matches!(self.source, Source::Fixed)
    }

    /// The current keys; `None` until a fetch has ever succeeded.
    pub(crate) fn keys(&self) -> Option<Arc<KeySet>> {
        self.read().keys.clone()
    }

    /// Whether the last fetch failed (the previous keys, if any, are still used).
    pub(crate) fn is_failing(&self) -> bool {
        self.read().last_error.is_some()
    }

    /// `Ok` once keys have been loaded; else why not.
    pub(crate) fn status(&self) -> Result<(), String> {
        let state = self.read();
        match (&state.keys, &state.last_error) {
            (Some(_), _) => Ok(()),
            (None, Some(e)) => Err(format!("no keys for issuer {}: {e}", self.issuer)),
            (None, None) => Err(format!("keys for issuer {} not fetched yet", self.issuer)),
        }
    }

    /// Fetches the key set now, keeping the previous one on failure.
    pub(crate) async fn refresh(&self) -> Result<(), String> {
        if !self.is_remote() {
            return Ok(());
        }
        let _guard = self.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Refetches after a token named an unknown `kid` (or arrived before any key was loaded),
    /// at most once per `auth.jwks_min_refetch`; returns the keys to use afterwards.
    pub(crate) async fn refetch(&self) -> Option<Arc<KeySet>> {
        if !self.is_remote() {
            return self.keys();
        }
        let _guard = self.fetching.lock().await;
        let recent = self
            .read()
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.min_refetch);
        if !recent {
            let _ = self.fetch_locked().await;
        }
        self.keys()
    }

    async fn fetch_locked(&self) -> Result<(), String> {
        let result = self.fetch_once().await;
        let mut state = self.write();
        state.last_attempt = Some(Instant::now());
        match result {
            Ok((keys, discovered)) => {
                tracing::debug!(issuer = %self.issuer, keys = keys.keys.len(), "signing keys loaded");
                state.keys = Some(Arc::new(keys));
                state.discovered = discovered;
                state.last_error = None;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, kept_previous = state.keys.is_some(), "fetching signing keys failed");
                state.discovered = None;
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn fetch_once(&self) -> Result<(KeySet, Option<String>), String> {
        let url = match &self.source {
            Source::Fixed => return Err("fixed keys are not fetched".into()),
            Source::Jwks(url) => url.clone(),
            Source::Discovery => {
                let known = self.read().discovered.clone();
                match known {
                    Some(url) => url,
                    None => discover(&self.http, &self.issuer).await?.jwks_uri,
                }
            }
        };
        let keys = fetch_jwks(&self.http, &url).await?;
        if keys.keys.is_empty() {
            return Err(format!("{url} holds no usable signing key"));
        }
        let discovered = matches!(self.source, Source::Discovery).then_some(url);
        Ok((keys, discovered))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Refreshes `store` every `every` in the background (sooner, with backoff, while fetching
/// fails); the task ends when the store is dropped.
pub(crate) fn spawn_refresher(store: &Arc<KeyStore>, every: Duration) {
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut retry = Duration::from_secs(1);
        loop {
            let wait = match weak.upgrade() {
                Some(store) if store.is_failing() || store.keys().is_none() => retry.min(every),
                Some(_) => every,
                None => return,
            };
            tokio::time::sleep(wait).await;
            let Some(store) = weak.upgrade() else { return };
            match store.refresh().await {
                Ok(()) => retry = Duration::from_secs(1),
                Err(_) => retry = (retry * 2).min(Duration::from_secs(30)),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::key::VerifyKey;

    #[tokio::test]
    async fn fixed_keys_are_always_ready() {
        let store = KeyStore::fixed(
            "iss",
            KeySet {
                keys: vec![VerifyKey::hmac(b"s")],
            },
        );
        assert!(store.status().is_ok());
        assert!(store.refresh().await.is_ok());
        assert_eq!(store.refetch().await.unwrap().keys.len(), 1);
    }

    #[tokio::test]
    async fn unreachable_jwks_reports_why_and_rate_limits() {
        let store = KeyStore::remote(
            "iss",
            Source::Jwks("http://127.0.0.1:9/jwks".into()),
            reqwest::Client::new(),
            Duration::from_secs(60),
        );
        assert!(store.status().unwrap_err().contains("not fetched yet"));
        assert!(store.refetch().await.is_none());
        let first = store.read().last_attempt;
        assert!(store.status().unwrap_err().contains("127.0.0.1:9"));
        // A second refetch within the interval does not fetch again.
        assert!(store.refetch().await.is_none());
        assert_eq!(store.read().last_attempt, first);
    }
}
