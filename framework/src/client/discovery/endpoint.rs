//! One instance of a downstream and its health as seen from here.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use url::Url;

use crate::client::metrics;

/// An instance: its base URL, how to reach it when it is an address found by DNS, and the
/// counters that balancing and ejection use.
#[derive(Debug)]
pub(crate) struct Endpoint {
    base: Url,
    pinned: Option<Pinned>,
    in_flight: AtomicUsize,
    consecutive_failures: AtomicU32,
    ejected_until: Mutex<Option<Instant>>,
}

/// An address found by DNS: requests go to the URL with the name (so that TLS SNI, certificate
/// verification and `Host` use it) through a client that connects to the address.
#[derive(Debug)]
pub(crate) struct Pinned {
    pub(crate) named: Url,
    pub(crate) http: reqwest::Client,
}

impl Endpoint {
    pub(crate) fn new(base: Url, pinned: Option<Pinned>) -> Self {
        Self {
            base,
            pinned,
            in_flight: AtomicUsize::new(0),
            consecutive_failures: AtomicU32::new(0),
            ejected_until: Mutex::new(None),
        }
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// The client pinned to this instance's address, for instances found by DNS.
    pub(crate) fn http(&self) -> Option<&reqwest::Client> {
        self.pinned.as_ref().map(|p| &p.http)
    }

    /// The absolute URL of `path_and_query` (which starts with `/`) on this instance, below
    /// the base URL's own path (with the name rather than the address for DNS instances).
    pub(crate) fn url_for(&self, path_and_query: &str) -> Result<Url, url::ParseError> {
        let base = self.pinned.as_ref().map_or(&self.base, |p| &p.named);
        let base = base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path_and_query}"))
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn is_ejected(&self, now: Instant) -> bool {
        self.ejected_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| now < until)
    }

    /// Marks an attempt as started; the guard records its outcome.
    pub(crate) fn start(self: &Arc<Self>, policy: Ejection) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            endpoint: self.clone(),
            policy,
            done: false,
        }
    }

    fn record(&self, failed: bool, policy: &Ejection) {
        if !failed {
            self.consecutive_failures.store(0, Ordering::Relaxed);
            // An ejected instance that answered (a retry sent it there) is back.
            let mut ejected = self.ejected_until.lock().unwrap_or_else(|e| e.into_inner());
            if ejected.take().is_some() {
                tracing::info!(client = %policy.name, instance = %self.base, "ejected instance answered; taken back");
            }
            return;
        }
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if policy.after == 0 || failures < policy.after {
            return;
        }
        self.consecutive_failures.store(0, Ordering::Relaxed);
        *self.ejected_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + policy.duration);
        tracing::warn!(
            client = %policy.name,
            instance = %self.base,
            failures,
            ejected_for = ?policy.duration,
            "instance ejected after consecutive failures"
        );
        metrics::ejected(&policy.name);
    }
}

/// Outlier ejection settings, shared by the instances of one client.
#[derive(Debug, Clone)]
pub(crate) struct Ejection {
    pub(crate) name: Arc<str>,
    pub(crate) after: u32,
    pub(crate) duration: Duration,
}

/// An attempt in flight on one instance. Dropped without [`InFlight::finish`] (the attempt
/// was cancelled by a timeout), it counts as a failure.
#[derive(Debug)]
pub(crate) struct InFlight {
    endpoint: Arc<Endpoint>,
    policy: Ejection,
    done: bool,
}

impl InFlight {
    pub(crate) fn finish(mut self, failed: bool) {
        self.done = true;
        self.endpoint.record(failed, &self.policy);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.endpoint.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            self.endpoint.record(true, &self.policy);
        }
    }
}
