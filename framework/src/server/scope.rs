//! The request's task-local context: its time budget and its inbound context, in one tokio
//! task-local so that a request under the standard stack enters one scope per poll, not one per
//! concern.
//!
//! [`RequestDeadline`](super::RequestDeadline) sets the budget, [`SetInbound`](super::SetInbound)
//! the inbound context, and the standard stack's guard both at once. Readers:
//! [`Budget::current`](super::deadline::budget::Budget::current) (auth's trust of a service
//! token's deadline, `db::commit`) and [`Inbound::current`](super::Inbound::current) (outgoing
//! calls).

use std::future::Future;

use tokio::task::futures::TaskLocalFuture;

use super::Inbound;
use super::deadline::budget::Budget;

tokio::task_local! {
    static CURRENT: Scope;
}

/// What the request being handled on this task shares with the code it runs (public only to
/// name the inbound layer's future; its module is private).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Set by the deadline layer (or the standard stack's guard).
    pub(crate) budget: Option<Budget>,
    /// Set by the inbound layer (or the standard stack's guard).
    pub(crate) inbound: Option<Inbound>,
}

impl Scope {
    /// Reads the current task's scope, if it runs inside one.
    pub(crate) fn with<R>(f: impl FnOnce(&Self) -> R) -> Option<R> {
        CURRENT.try_with(f).ok()
    }

    /// The current scope (empty outside one), for a layer that sets one part of it and keeps
    /// what an outer layer set.
    pub(crate) fn inherited() -> Self {
        Self::with(Clone::clone).unwrap_or_default()
    }

    /// `fut`, run with this scope as the current one.
    pub(crate) fn run<F: Future>(self, fut: F) -> TaskLocalFuture<Self, F> {
        CURRENT.scope(self, fut)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn an_inner_scope_keeps_what_the_outer_one_set() {
        assert!(Scope::with(|_| ()).is_none(), "no scope outside a request");
        let budget = Budget::new(Instant::now() + Duration::from_secs(1), None, None);
        let outer = Scope {
            budget: Some(budget),
            inbound: None,
        };
        outer
            .run(async {
                let mut inner = Scope::inherited();
                assert!(inner.budget.is_some());
                inner.inbound = Some(Inbound::default());
                inner
                    .run(async {
                        assert!(
                            Scope::with(|s| s.budget.is_some() && s.inbound.is_some()).unwrap()
                        );
                    })
                    .await;
            })
            .await;
    }
}
