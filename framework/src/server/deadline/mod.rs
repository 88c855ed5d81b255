//! Honouring the caller's deadline on the server side.
//!
//! A caller (usually a servicekit [`ServiceClient`](crate::client::ServiceClient)) sends how
//! much of its budget is left in [`DEADLINE_HEADER`], in milliseconds. Relative budgets are
//! immune to clock skew between hosts. This layer:
//! - answers 504 problem+json at once, without running the handler, when the budget is `0`
//!   (the caller has already given up, so any work would be wasted);
//! - otherwise runs the handler under a timeout of that budget (it sits inside the server's
//!   `request_timeout`, so the effective limit is the smaller of the two) and answers 504 when
//!   it elapses;
//! - puts the [`Deadline`] into the request's extensions, where the
//!   [`Inbound`](crate::client::Inbound) extractor finds it so that outgoing calls inherit it.
//!
//! Requests without the header are passed through untouched.

mod layer;
mod service;

use std::time::{Duration, Instant};

pub use layer::DeadlineLayer;
pub use service::DeadlineService;

/// Header carrying the caller's remaining budget in whole milliseconds, e.g. `250`.
pub const DEADLINE_HEADER: &str = "x-request-deadline-ms";

/// The instant by which the current request must be answered.
///
/// Inserted into request extensions by [`DeadlineLayer`] and read by outgoing clients.
///
/// ```
/// use std::time::Duration;
/// use servicekit::server::Deadline;
///
/// let d = Deadline::after(Duration::from_millis(250));
/// assert!(d.remaining() <= Duration::from_millis(250));
/// assert!(!d.is_expired());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(Instant);

impl Deadline {
    /// A deadline at `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    /// The instant.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// Time left, zero once passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn is_expired(self) -> bool {
        Instant::now() >= self.0
    }

    /// The earlier of two deadlines.
    #[must_use]
    pub fn min(self, other: Self) -> Self {
        std::cmp::min(self, other)
    }

    /// Parses the value of [`DEADLINE_HEADER`] (whole milliseconds left).
    pub fn from_header(value: &http::HeaderValue) -> Option<Self> {
        let millis: u64 = value.to_str().ok()?.trim().parse().ok()?;
        Some(Self::after(Duration::from_millis(millis)))
    }

    /// The value for [`DEADLINE_HEADER`]: the whole milliseconds left, rounded down.
    pub fn to_header(self) -> http::HeaderValue {
        let millis = u64::try_from(self.remaining().as_millis()).unwrap_or(u64::MAX);
        http::HeaderValue::from(millis)
    }
}
