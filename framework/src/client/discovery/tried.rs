//! The instances one call has tried, so that its retries go elsewhere.

use std::sync::{Arc, Mutex};

use url::Url;

/// A request extension shared by the attempts of one call: the retry layer inserts it once,
/// each attempt's copy of the request shares it, and the transport records every instance it
/// sends an attempt to. The balancer then prefers instances this call has not tried yet
/// (as Envoy's `previous_hosts` retry predicate does): a retry after a refused connection
/// goes to another instance, even one that is ejected, rather than to the one that just failed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tried(Arc<Mutex<Vec<Url>>>);

impl Tried {
    /// Whether an attempt of this call already went to `base`.
    pub(crate) fn contains(&self, base: &Url) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(base)
    }

    /// Records an attempt to `base`.
    pub(crate) fn push(&self, base: &Url) {
        let mut tried = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !tried.contains(base) {
            tried.push(base.clone());
        }
    }
}
