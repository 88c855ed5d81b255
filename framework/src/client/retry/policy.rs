//! Which requests and which outcomes are retried, and the budget.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use tower::retry::budget::{Budget, TpsBudget};

use super::IDEMPOTENCY_KEY;
use super::backoff;
use crate::BoxError;
use crate::client::config::RetryConfig;
use crate::client::time_limit::TimeLimitError;
use crate::client::transport::TransportError;

/// The retry settings and the budget shared by every call of one client.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: Arc<str>,
    max_attempts: u32,
    base_backoff: Duration,
    max_backoff: Duration,
    budget: TpsBudget,
}

/// Why an outcome is worth another attempt (the `reason` label of the retry metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Status(StatusCode),
    Timeout,
    Connect,
    Transport,
}

impl Reason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Status(StatusCode::TOO_MANY_REQUESTS) => "http_429",
            Self::Status(StatusCode::BAD_GATEWAY) => "http_502",
            Self::Status(StatusCode::SERVICE_UNAVAILABLE) => "http_503",
            Self::Status(_) => "http_504",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Transport => "transport",
        }
    }
}

impl RetryPolicy {
    /// A policy from `[clients.<name>.retry]`; `name` labels the metrics.
    pub fn new(name: impl Into<Arc<str>>, config: &RetryConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.into(),
                max_attempts: config.max_attempts.max(1),
                base_backoff: config.base_backoff,
                max_backoff: config.max_backoff,
                budget: TpsBudget::new(
                    config
                        .budget_ttl
                        .clamp(Duration::from_secs(1), Duration::from_secs(60)),
                    config.budget_min_per_second,
                    config.budget_percent.clamp(0.0, 1000.0),
                ),
            }),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn max_attempts(&self) -> u32 {
        self.inner.max_attempts
    }

    /// Whether `req` may be sent more than once.
    pub fn is_repeatable<B>(req: &Request<B>) -> bool {
        matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ) || req.headers().contains_key(IDEMPOTENCY_KEY)
    }

    /// Why `result` is worth another attempt, if it is.
    pub(crate) fn reason<B>(result: &Result<Response<B>, BoxError>) -> Option<Reason> {
        match result {
            Ok(res) => matches!(
                res.status(),
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            )
            .then(|| Reason::Status(res.status())),
            Err(e)
                if matches!(
                    e.downcast_ref::<TimeLimitError>(),
                    Some(TimeLimitError::AttemptTimedOut { .. })
                ) =>
            {
                Some(Reason::Timeout)
            }
            Err(e) => match e.downcast_ref::<TransportError>() {
                Some(t) if t.is_connect() => Some(Reason::Connect),
                Some(t) if t.is_retryable() => Some(Reason::Transport),
                _ => None,
            },
        }
    }

    /// The wait before retry number `retry` (from 1): the answer's `Retry-After`, else jitter.
    /// `None` when the answer asks for more than `max_backoff` and there is no deadline to
    /// bound the wait.
    pub(crate) fn wait<B>(
        &self,
        result: &Result<Response<B>, BoxError>,
        retry: u32,
        has_deadline: bool,
    ) -> Option<Duration> {
        let asked = match result {
            Ok(res) => backoff::retry_after(res.headers()),
            Err(_) => None,
        };
        match asked {
            Some(wait) if !has_deadline && wait > self.inner.max_backoff => None,
            Some(wait) => Some(wait),
            None => Some(backoff::full_jitter(
                self.inner.base_backoff,
                self.inner.max_backoff,
                retry,
            )),
        }
    }

    /// Counts a call towards the budget.
    pub(crate) fn deposit(&self) {
        self.inner.budget.deposit();
    }

    /// Takes one retry from the budget, if there is one left.
    pub(crate) fn withdraw(&self) -> bool {
        self.inner.budget.withdraw()
    }
}
