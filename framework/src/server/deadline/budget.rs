//! The time budget of one request, shared between the [`RequestDeadline`](super::RequestDeadline)
//! that enforces it, the auth layer that may extend trust to the caller's deadline, and the
//! database helper that must not commit once the budget is spent.
//!
//! The budget moves from `RUNNING` to exactly one of `EXPIRED` (the layer answers 504/503/408
//! and nothing may commit any more) or `COMMITTING` (a write is being committed, so the layer
//! waits for the handler's real answer instead of claiming the request failed). That single
//! compare-and-swap is what makes "504 means nothing was committed" hold.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

use futures_util::task::AtomicWaker;

use super::Deadline;
use crate::server::scope::Scope;

const RUNNING: u8 = 0;
const COMMITTING: u8 = 1;
const EXPIRED: u8 = 2;

/// Why a budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The trusted caller's `x-request-deadline-ms`.
    Caller,
    /// The server's own `server.request_timeout`.
    Server,
}

/// The budget was spent; the request must not change anything any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired;

/// One request's budget. Cloning shares it.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AtomicU8,
    /// When `server.request_timeout` runs out.
    own: Instant,
    /// The caller's deadline once trusted.
    caller: Mutex<Option<Instant>>,
    /// The caller's deadline, waiting for auth to verify a service token.
    pending: Option<Instant>,
    /// Wakes the enforcing layer when the effective deadline moves.
    changed: AtomicWaker,
}

impl Budget {
    /// A budget ending at `own` (the server's timeout), with the caller's deadline already
    /// trusted (`caller`) or waiting for a verified service token (`pending`).
    pub(crate) fn new(own: Instant, caller: Option<Instant>, pending: Option<Instant>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: AtomicU8::new(RUNNING),
                own,
                caller: Mutex::new(caller),
                pending,
                changed: AtomicWaker::new(),
            }),
        }
    }

    /// The budget of the request being handled on this task, if any.
    pub(crate) fn current() -> Option<Self> {
        Scope::with(|scope| scope.budget.clone()).flatten()
    }

    fn caller(&self) -> Option<Instant> {
        *self.inner.caller.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The instant the request must be answered by, and which limit that is.
    pub(crate) fn effective(&self) -> (Instant, Cause) {
        match self.caller() {
            Some(caller) if caller < self.inner.own => (caller, Cause::Caller),
            _ => (self.inner.own, Cause::Server),
        }
    }

    /// Wakes `waker` when the effective deadline moves (auth trusts the caller); only a budget
    /// with a pending caller deadline can move, so the others keep no waker.
    pub(crate) fn listen(&self, waker: &Waker) {
        if self.inner.pending.is_some() {
            self.inner.changed.register(waker);
        }
    }

    /// Trusts the pending caller deadline (the caller proved to be a service). Returns the
    /// deadline to hand to outgoing calls, or `Expired` if it has already passed (the budget is
    /// then spent and the handler must not run).
    pub(crate) fn trust_caller(&self) -> Result<Option<Deadline>, Expired> {
        let Some(pending) = self.inner.pending else {
            return Ok(None);
        };
        *self.inner.caller.lock().unwrap_or_else(|e| e.into_inner()) = Some(pending);
        self.inner.changed.wake();
        let (at, _) = self.effective();
        if Instant::now() >= at {
            self.try_expire();
            return Err(Expired);
        }
        Ok(Some(Deadline::at(at)))
    }

    /// Marks the budget spent unless a commit has begun; `true` if it is now spent.
    pub(crate) fn try_expire(&self) -> bool {
        match self.inner.state.compare_exchange(
            RUNNING,
            EXPIRED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(state) => state == EXPIRED,
        }
    }

    /// Whether the budget was spent (by the layer, a refused commit or auth).
    pub(crate) fn is_expired(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == EXPIRED
    }

    /// Claims the right to commit: `Err` if the deadline has passed (the budget is then spent),
    /// otherwise the layer will wait for the handler instead of cutting it off.
    pub(crate) fn begin_commit(&self) -> Result<(), Expired> {
        let (at, _) = self.effective();
        if Instant::now() >= at {
            self.try_expire();
        }
        match self.inner.state.compare_exchange(
            RUNNING,
            COMMITTING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(COMMITTING) => Ok(()),
            Err(_) => Err(Expired),
        }
    }
}

/// Claims the right to commit for the request handled on this task; `Ok` outside requests.
pub(crate) fn begin_commit() -> Result<(), Expired> {
    match Budget::current() {
        Some(budget) => budget.begin_commit(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_commit_before_the_deadline_wins_over_expiry() {
        let b = Budget::new(Instant::now() + Duration::from_secs(5), None, None);
        assert_eq!(b.begin_commit(), Ok(()));
        assert!(!b.try_expire(), "a started commit is not cut");
        assert_eq!(
            b.begin_commit(),
            Ok(()),
            "later commits of the request go on"
        );
    }

    #[test]
    fn a_commit_after_the_deadline_is_refused() {
        let b = Budget::new(Instant::now(), None, None);
        assert_eq!(b.begin_commit(), Err(Expired));
        assert!(b.is_expired());
        let b = Budget::new(Instant::now() + Duration::from_secs(5), None, None);
        assert!(b.try_expire());
        assert_eq!(b.begin_commit(), Err(Expired));
    }

    #[test]
    fn a_pending_caller_deadline_counts_only_once_trusted() {
        let own = Instant::now() + Duration::from_secs(5);
        let caller = Instant::now() + Duration::from_secs(1);
        let b = Budget::new(own, None, Some(caller));
        assert_eq!(b.effective(), (own, Cause::Server));
        let d = b.trust_caller().unwrap().unwrap();
        assert_eq!(d.instant(), caller);
        assert_eq!(b.effective(), (caller, Cause::Caller));

        let b = Budget::new(own, None, Some(Instant::now()));
        assert_eq!(b.trust_caller(), Err(Expired));
        assert!(b.is_expired());
        let b = Budget::new(own, None, None);
        assert_eq!(b.trust_caller(), Ok(None));
    }

    #[test]
    fn the_servers_timeout_caps_the_callers() {
        let own = Instant::now() + Duration::from_secs(1);
        let b = Budget::new(own, Some(own + Duration::from_secs(60)), None);
        assert_eq!(b.effective(), (own, Cause::Server));
    }
}
