//! Every request's time budget: the server's own `server.request_timeout`, narrowed by the
//! caller's deadline when the caller is trusted.
//!
//! A caller (usually a servicekit [`ServiceClient`](crate::client::ServiceClient)) sends how
//! much of its budget is left in [`DEADLINE_HEADER`], in milliseconds. Relative budgets are
//! immune to clock skew between hosts. The header is honoured only from trusted callers: peers
//! in `server.deadline_trusted_networks`, or callers whose verified token is a service token
//! (`server.deadline_trust_service_tokens`, on by default; see
//! [`Principal::is_service`](crate::auth::Principal::is_service)). Anyone else's header is
//! removed and ignored, so an outside client can neither cut requests short nor pass a deadline
//! on to downstream services. A trusted deadline is capped by `server.request_timeout`.
//!
//! [`RequestDeadlineLayer`] answers, as problem+json:
//! - 504 at the trusted caller's deadline (at once, without running the handler, when the
//!   budget is already `0`);
//! - 408 (and closes the connection) when `server.request_timeout` passes while the server is
//!   still waiting for the client's request body: the client is too slow, not the server;
//! - 503 when `server.request_timeout` passes while the handler works.
//!
//! A trusted deadline is put into the request's extensions as a [`Deadline`], where the
//! [`Inbound`](crate::client::Inbound) extractor finds it so that outgoing calls inherit it.
//!
//! **Writes.** At the deadline the handler's future is dropped, which rolls back an open sqlx
//! transaction but cannot take back a statement that already reached the database in
//! autocommit mode. Commit writes with [`db::commit`](crate::db::commit): it refuses to commit
//! once the budget is spent, and once it has begun the layer waits for the handler's real
//! answer instead of replacing it. So a 504/503/408 from this layer means nothing committed
//! through `db::commit` was saved.

mod body;
pub(crate) mod budget;
mod future;
mod layer;
mod race;
mod service;

use std::time::{Duration, Instant};

pub(crate) use body::Waiting;
pub use future::DeadlineFuture;
pub(crate) use layer::Policy;
pub use layer::RequestDeadlineLayer;
pub(crate) use race::Race;
pub use service::RequestDeadline;
pub(crate) use service::{admit, expired_before_start};

/// Header carrying the caller's remaining budget in whole milliseconds, e.g. `250`.
pub const DEADLINE_HEADER: &str = "x-request-deadline-ms";

/// [`DEADLINE_HEADER`] as a parsed name, for look-ups without parsing the name each time.
pub(crate) static DEADLINE: http::HeaderName = http::HeaderName::from_static(DEADLINE_HEADER);

/// The instant by which the current request must be answered.
///
/// Inserted into request extensions by [`RequestDeadlineLayer`] for trusted callers and read by
/// outgoing clients.
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
