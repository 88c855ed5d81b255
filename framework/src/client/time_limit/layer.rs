use std::time::Duration;

use tower::Layer;

use super::{Scope, TimeLimit};

/// Bounds each call or each attempt by a time budget; see the [module docs](super).
#[derive(Debug, Clone, Copy)]
pub struct TimeLimitLayer {
    budget: Duration,
    scope: Scope,
}

impl TimeLimitLayer {
    /// The whole call, retries and backoff included, gets at most `deadline`, less when the
    /// request carries an earlier deadline; when it passes the call fails with
    /// [`TimeLimitError::DeadlineExceeded`](super::TimeLimitError::DeadlineExceeded).
    pub fn call(deadline: Duration) -> Self {
        Self {
            budget: deadline,
            scope: Scope::Call,
        }
    }

    /// Each attempt gets at most `timeout`, and never more than what is left of the call's
    /// deadline; a slow attempt fails with
    /// [`TimeLimitError::AttemptTimedOut`](super::TimeLimitError::AttemptTimedOut).
    pub fn attempt(timeout: Duration) -> Self {
        Self {
            budget: timeout,
            scope: Scope::Attempt,
        }
    }
}

impl<S> Layer<S> for TimeLimitLayer {
    type Service = TimeLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeLimit::new(inner, self.budget, self.scope)
    }
}
