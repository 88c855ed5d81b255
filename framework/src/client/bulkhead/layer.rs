use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tower::Layer;

use super::Bulkhead;

/// Limits attempts in flight; see the [module docs](super).
///
/// All services made by one layer share its slots.
#[derive(Debug, Clone)]
pub struct BulkheadLayer {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    max_wait: Duration,
    name: Arc<str>,
}

impl BulkheadLayer {
    /// At most `max_concurrent` attempts in flight; an excess one waits up to `max_wait`.
    /// `name` labels the rejection metric.
    pub fn new(name: impl Into<Arc<str>>, max_concurrent: usize, max_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            max_wait,
            name: name.into(),
        }
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = Bulkhead<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Bulkhead::new(
            inner,
            self.slots.clone(),
            self.max_concurrent,
            self.max_wait,
            self.name.clone(),
        )
    }
}
