use tower::Layer;

use super::{Breaker, CircuitBreaker};

/// Guards calls with a [`CircuitBreaker`]; see the [module docs](super).
///
/// All services made by one layer share its breaker.
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    breaker: CircuitBreaker,
}

impl BreakerLayer {
    /// Guards calls with `breaker`.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self { breaker }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Breaker<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Breaker::new(inner, self.breaker.clone())
    }
}
