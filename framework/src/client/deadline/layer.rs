use std::time::Duration;

use tower::Layer;

use super::DeadlineService;

/// Applies a deadline to each call; see the [module docs](super).
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    budget: Duration,
}

impl DeadlineLayer {
    /// Calls get at most `budget`, less when the request carries an earlier deadline.
    pub fn new(budget: Duration) -> Self {
        Self { budget }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService::new(inner, self.budget)
    }
}
