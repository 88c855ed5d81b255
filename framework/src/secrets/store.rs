//! `Secrets`: the providers by scheme, a cache with a lifetime, a watch channel per reference,
//! and the last good value kept when a refresh fails.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
// tokio's clock, so that tests with paused time see ages advance.
use tokio::time::Instant;

use crate::telemetry::catalog::{SECRET_AGE_SECONDS, SECRET_REFRESH_FAILURES_TOTAL};

use super::{
    EnvProvider, FileProvider, Secret, SecretError, SecretErrorKind, SecretProvider, SecretRef,
    SecretValue, SecretsConfig, json,
};

/// Counter of failed refreshes, labelled by `reference`; an alias of
/// [`SECRET_REFRESH_FAILURES_TOTAL`](crate::telemetry::catalog::SECRET_REFRESH_FAILURES_TOTAL).
pub const REFRESH_FAILURES_METRIC: &str = SECRET_REFRESH_FAILURES_TOTAL;
/// Gauge of the age of each secret's value (seconds since its last successful fetch), as of
/// the scrape; an alias of
/// [`SECRET_AGE_SECONDS`](crate::telemetry::catalog::SECRET_AGE_SECONDS).
pub const AGE_METRIC: &str = SECRET_AGE_SECONDS;

/// The secrets a service uses: providers by scheme, a cache, refresh, and change notification.
///
/// Cloning is cheap; all clones share one cache. Every value fetched through [`get`] or
/// [`subscribe`] is kept and fetched again by [`refresh_all`] (which the service runs every
/// `secrets.refresh_interval`); a failed refresh keeps the last good value, logs a warning and
/// counts `servicekit_secret_refresh_failures_total{reference}`.
///
/// ```
/// # async fn f() -> Result<(), servicekit::secrets::SecretError> {
/// use servicekit::secrets::{EnvProvider, Secrets, SecretsConfig};
///
/// let secrets = Secrets::builder(SecretsConfig::default())
///     .provider(EnvProvider::from_vars([("API_TOKEN", "t0ken")]))
///     .build();
/// let token = secrets.get("env://API_TOKEN").await?;
/// assert_eq!(token.expose_str(), Some("t0ken"));
///
/// // Consumers that must follow rotation subscribe to the reference:
/// let mut changes = secrets.subscribe("env://API_TOKEN").await?;
/// # let _ = changes.borrow_and_update();
/// # Ok(()) }
/// ```
///
/// [`get`]: Secrets::get
/// [`subscribe`]: Secrets::subscribe
/// [`refresh_all`]: Secrets::refresh_all
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

struct Inner {
    providers: BTreeMap<String, Arc<dyn SecretProvider>>,
    config: SecretsConfig,
    entries: Mutex<BTreeMap<String, Entry>>,
}

/// One cached reference.
struct Entry {
    sender: watch::Sender<Secret>,
    version: Option<String>,
    fetched_at: Instant,
    failing: Option<String>,
}

/// The state of one cached secret, for health checks and diagnostics (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretStatus {
    /// The reference.
    pub reference: String,
    /// The provider's version id of the value in use, if it has versions.
    pub version: Option<String>,
    /// Time since the value in use was fetched.
    pub age: Duration,
    /// The last refresh error, while refreshes fail.
    pub error: Option<String>,
}

/// Builds [`Secrets`]: the `env`, `file` and `aws-sm` providers plus any of your own.
#[must_use]
pub struct SecretsBuilder {
    config: SecretsConfig,
    providers: BTreeMap<String, Arc<dyn SecretProvider>>,
}

impl fmt::Debug for SecretsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsBuilder")
            .field("schemes", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SecretsBuilder {
    /// Adds a provider; it replaces a built-in one with the same scheme.
    pub fn provider(self, provider: impl SecretProvider) -> Self {
        self.provider_arc(Arc::new(provider))
    }

    /// Adds a shared provider; it replaces a built-in one with the same scheme.
    pub fn provider_arc(mut self, provider: Arc<dyn SecretProvider>) -> Self {
        self.providers
            .insert(provider.scheme().to_string(), provider);
        self
    }

    /// The secrets handle; schemes without a provider of yours get the built-in one.
    pub fn build(mut self) -> Secrets {
        let defaults: [Arc<dyn SecretProvider>; 3] = [
            Arc::new(EnvProvider::new()),
            Arc::new(FileProvider),
            aws_provider(&self.config),
        ];
        for provider in defaults {
            self.providers
                .entry(provider.scheme().to_string())
                .or_insert(provider);
        }
        Secrets {
            inner: Arc::new(Inner {
                providers: self.providers,
                config: self.config,
                entries: Mutex::new(BTreeMap::new()),
            }),
        }
    }
}

/// The built-in `aws-sm` provider, configured by `[secrets.aws]`.
#[cfg(feature = "aws")]
fn aws_provider(config: &SecretsConfig) -> Arc<dyn SecretProvider> {
    let aws = &config.aws;
    let mut settings = super::aws::AwsSecretsManager::builder();
    if let Some(region) = &aws.region {
        settings = settings.region(region);
    }
    if let Some(url) = &aws.endpoint_url {
        settings = settings.endpoint_url(url);
    }
    Arc::new(settings.build())
}

/// Without the `aws` feature, `aws-sm://` references fail naming the feature.
#[cfg(not(feature = "aws"))]
fn aws_provider(_config: &SecretsConfig) -> Arc<dyn SecretProvider> {
    Arc::new(super::not_compiled::NotCompiled::AWS)
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("schemes", &self.inner.providers.keys().collect::<Vec<_>>())
            .field("references", &self.entries().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Starts building a handle with `config`.
    pub fn builder(config: SecretsConfig) -> SecretsBuilder {
        SecretsBuilder {
            config,
            providers: BTreeMap::new(),
        }
    }

    /// The `[secrets]` settings.
    pub fn config(&self) -> &SecretsConfig {
        &self.inner.config
    }

    /// Whether `value` is a reference to one of the known schemes (`env://..`, `aws-sm://..`).
    pub fn is_reference(&self, value: &str) -> bool {
        value
            .split_once("://")
            .is_some_and(|(scheme, _)| self.inner.providers.contains_key(scheme))
    }

    /// The name of the provider serving `reference`'s scheme.
    pub fn provider_name(&self, reference: &str) -> Option<&str> {
        let (scheme, _) = reference.split_once("://")?;
        self.inner.providers.get(scheme).map(|p| p.name())
    }

    /// The secret `reference` points at: from the cache while younger than
    /// `secrets.refresh_interval`, else fetched; if the fetch fails and an earlier value exists,
    /// that value (the failure is logged and counted).
    pub async fn get(&self, reference: &str) -> Result<Secret, SecretError> {
        let parsed = SecretRef::parse(reference)?;
        let ttl = self.inner.config.refresh_interval;
        if let Some(entry) = self.entries().get(reference)
            && entry.fetched_at.elapsed() < ttl
        {
            return Ok(entry.sender.borrow().clone());
        }
        match self.fetch(&parsed).await {
            Ok(value) => {
                let secret = value.value.clone();
                self.record(reference, value);
                Ok(secret)
            }
            Err(e) => self.record_failure(reference, &e).ok_or(e),
        }
    }

    /// A receiver that always holds the current value of `reference` and is notified when a
    /// refresh finds a new one (fetching it first if it is not cached yet).
    pub async fn subscribe(&self, reference: &str) -> Result<watch::Receiver<Secret>, SecretError> {
        if let Some(entry) = self.entries().get(reference) {
            return Ok(entry.sender.subscribe());
        }
        self.get(reference).await?;
        self.entries()
            .get(reference)
            .map(|entry| entry.sender.subscribe())
            .ok_or_else(|| {
                SecretError::new(
                    SecretErrorKind::Other,
                    reference,
                    "cache",
                    "the secret was not cached after a successful fetch",
                )
            })
    }

    /// Fetches `reference` now, ignoring the cache; `Ok(true)` when the value changed (and
    /// subscribers were notified). On error the last good value stays in use.
    pub async fn refresh(&self, reference: &str) -> Result<bool, SecretError> {
        let parsed = SecretRef::parse(reference)?;
        match self.fetch(&parsed).await {
            Ok(value) => Ok(self.record(reference, value)),
            Err(e) => {
                self.record_failure(reference, &e);
                Err(e)
            }
        }
    }

    /// Refreshes every cached reference concurrently and updates the age gauges; returns the
    /// number of failures.
    pub async fn refresh_all(&self) -> usize {
        let references: Vec<String> = self.entries().keys().cloned().collect();
        let results =
            futures_util::future::join_all(references.iter().map(|r| self.refresh(r))).await;
        self.record_ages();
        results.iter().filter(|r| r.is_err()).count()
    }

    /// Sets `servicekit_secret_age_seconds{reference}` to each value's age now; `/metrics`
    /// calls this on every scrape, so the gauge is the age at scrape time.
    pub(crate) fn record_ages(&self) {
        for status in self.status() {
            metrics::gauge!(SECRET_AGE_SECONDS, "reference" => status.reference)
                .set(status.age.as_secs_f64());
        }
    }

    /// The state of every cached secret.
    pub fn status(&self) -> Vec<SecretStatus> {
        self.entries()
            .iter()
            .map(|(reference, entry)| SecretStatus {
                reference: reference.clone(),
                version: entry.version.clone(),
                age: entry.fetched_at.elapsed(),
                error: entry.failing.clone(),
            })
            .collect()
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // The map is never left half-updated, so a panic elsewhere does not poison its content.
        self.inner.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches through the provider, under the fetch timeout, and applies the `#key`.
    async fn fetch(&self, reference: &SecretRef) -> Result<SecretValue, SecretError> {
        let provider = self
            .inner
            .providers
            .get(reference.scheme())
            .ok_or_else(|| {
                let known: Vec<&str> = self.inner.providers.keys().map(String::as_str).collect();
                SecretError::new(
                    SecretErrorKind::InvalidReference,
                    reference,
                    "reference",
                    format!(
                        "no provider for scheme `{}` (known: {})",
                        reference.scheme(),
                        known.join(", ")
                    ),
                )
            })?;
        let timeout = self.inner.config.fetch_timeout;
        let fetched = tokio::time::timeout(timeout, provider.fetch(reference))
            .await
            .map_err(|_| {
                SecretError::new(
                    SecretErrorKind::Unavailable,
                    reference,
                    provider.name(),
                    format!(
                        "no answer within {} (secrets.fetch_timeout)",
                        humantime::format_duration(timeout)
                    ),
                )
            })??;
        match reference.key() {
            None => Ok(fetched),
            Some(key) => Ok(SecretValue {
                value: json::select(&fetched.value, key, reference, provider.name())?,
                version: fetched.version,
            }),
        }
    }

    /// Stores a fetched value; returns whether it differs from the cached one.
    fn record(&self, reference: &str, value: SecretValue) -> bool {
        metrics::gauge!(SECRET_AGE_SECONDS, "reference" => reference.to_string()).set(0.0);
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(reference) else {
            entries.insert(
                reference.to_string(),
                Entry {
                    sender: watch::Sender::new(value.value),
                    version: value.version,
                    fetched_at: Instant::now(),
                    failing: None,
                },
            );
            return false;
        };
        entry.fetched_at = Instant::now();
        if entry.failing.take().is_some() {
            tracing::info!(reference, "secret refresh recovered");
        }
        let changed = entry.sender.borrow().expose_bytes() != value.value.expose_bytes();
        if changed {
            tracing::info!(
                reference,
                version = value.version.as_deref().unwrap_or("-"),
                previous_version = entry.version.as_deref().unwrap_or("-"),
                "secret changed; notifying its subscribers"
            );
            entry.version = value.version;
            entry.sender.send_replace(value.value);
        }
        changed
    }

    /// Records a failed refresh of a cached reference and returns the last good value; `None`
    /// if the reference was never fetched (nothing to fall back on).
    fn record_failure(&self, reference: &str, error: &SecretError) -> Option<Secret> {
        let mut entries = self.entries();
        let entry = entries.get_mut(reference)?;
        metrics::counter!(SECRET_REFRESH_FAILURES_TOTAL, "reference" => reference.to_string())
            .increment(1);
        tracing::warn!(
            reference,
            error = %error,
            value_age = %humantime::format_duration(round_secs(entry.fetched_at.elapsed())),
            "secret refresh failed; keeping the last good value"
        );
        entry.failing = Some(error.to_string());
        let last = entry.sender.borrow().clone();
        Some(last)
    }
}

/// `d` without its sub-second part, for readable logs.
pub(crate) fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::secrets::FetchFuture;

    /// `seq://x` yields the values in order, then fails once they run out.
    struct Sequence {
        values: Vec<&'static str>,
        calls: AtomicUsize,
    }

    impl SecretProvider for Sequence {
        fn scheme(&self) -> &str {
            "seq"
        }
        fn name(&self) -> &str {
            "sequence"
        }
        fn fetch<'a>(&'a self, reference: &'a SecretRef) -> FetchFuture<'a> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match self.values.get(n) {
                    Some(v) => Ok(SecretValue {
                        value: Secret::from(*v),
                        version: Some(format!("v{n}")),
                    }),
                    None => Err(SecretError::new(
                        SecretErrorKind::Unavailable,
                        reference,
                        "sequence",
                        "exhausted",
                    )),
                }
            })
        }
    }

    fn secrets(values: Vec<&'static str>, refresh: Duration) -> Secrets {
        let config = SecretsConfig {
            refresh_interval: refresh,
            ..SecretsConfig::default()
        };
        Secrets::builder(config)
            .provider(Sequence {
                values,
                calls: AtomicUsize::new(0),
            })
            .build()
    }

    #[tokio::test]
    async fn cached_values_are_served_until_they_expire() {
        let long = secrets(vec!["a", "b"], Duration::from_secs(3600));
        assert_eq!(long.get("seq://x").await.unwrap().expose_str(), Some("a"));
        assert_eq!(long.get("seq://x").await.unwrap().expose_str(), Some("a"));

        let expired = secrets(vec!["a", "b"], Duration::ZERO);
        assert_eq!(
            expired.get("seq://x").await.unwrap().expose_str(),
            Some("a")
        );
        assert_eq!(
            expired.get("seq://x").await.unwrap().expose_str(),
            Some("b")
        );
    }

    #[tokio::test]
    async fn subscribers_see_changes_and_failures_keep_the_last_good_value() {
        let secrets = secrets(vec!["a", "a", "b"], Duration::from_secs(3600));
        let mut rx = secrets.subscribe("seq://x").await.unwrap();
        assert_eq!(rx.borrow_and_update().expose_str(), Some("a"));

        assert!(!secrets.refresh("seq://x").await.unwrap(), "same value");
        assert!(!rx.has_changed().unwrap());
        assert!(secrets.refresh("seq://x").await.unwrap(), "new value");
        assert_eq!(rx.borrow_and_update().expose_str(), Some("b"));

        assert_eq!(secrets.refresh_all().await, 1, "the provider is exhausted");
        assert_eq!(rx.borrow().expose_str(), Some("b"), "last good value kept");
        let status = &secrets.status()[0];
        assert_eq!(status.version.as_deref(), Some("v2"));
        assert!(status.error.as_deref().unwrap().contains("exhausted"));
    }

    #[tokio::test]
    async fn a_first_fetch_failure_is_an_error() {
        let secrets = secrets(vec![], Duration::from_secs(1));
        let err = secrets.get("seq://x").await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::Unavailable);
        let err = secrets.get("nope://x").await.unwrap_err();
        assert!(
            err.message().contains("known: aws-sm, env, file, seq"),
            "{err}"
        );
        assert!(secrets.status().is_empty());
    }

    #[test]
    fn failed_refreshes_are_counted_per_reference() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let secrets = secrets(vec!["a"], Duration::from_secs(3600));
                secrets.get("seq://x").await.unwrap();
                secrets.refresh_all().await;
                secrets.refresh_all().await;
            });
        });
        let metrics = snapshotter.snapshot().into_vec();
        let failures = metrics
            .iter()
            .find(|(key, ..)| key.key().name() == REFRESH_FAILURES_METRIC)
            .expect("failure counter recorded");
        assert_eq!(failures.3, DebugValue::Counter(2));
        let label = failures.0.key().labels().next().unwrap();
        assert_eq!((label.key(), label.value()), ("reference", "seq://x"));
        assert!(
            metrics
                .iter()
                .any(|(key, ..)| key.key().name() == AGE_METRIC),
            "age gauge recorded"
        );
    }

    #[tokio::test]
    async fn json_keys_are_applied_after_the_fetch() {
        let secrets = Secrets::builder(SecretsConfig::default())
            .provider(crate::secrets::EnvProvider::from_vars([(
                "DB",
                r#"{"username":"app","password":"pw"}"#,
            )]))
            .build();
        let pw = secrets.get("env://DB#password").await.unwrap();
        assert_eq!(pw.expose_str(), Some("pw"));
    }
}
