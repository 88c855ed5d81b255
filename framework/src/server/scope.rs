//! The request's task-local context: its time budget and its inbound context, in one tokio
//! task-local so that a request under the standard stack enters one scope per poll, not one per
//! concern.
//!
//! [`RequestDeadline`](super::RequestDeadline) sets the budget, [`SetInbound`](super::SetInbound)
//! the inbound context, and the standard stack's guard both at once. A layer that sets one part
//! keeps the other part of a layer outside it: the two merge when the inner future is first
//! polled ([`Scoped`]), since an outer layer's scope is current only while it polls, not while
//! the inner layer's `call` runs. Readers:
//! [`Budget::current`](super::deadline::budget::Budget::current) (auth's trust of a service
//! token's deadline, `db::commit`) and [`Inbound::current`](super::Inbound::current) (outgoing
//! calls).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use super::Inbound;
use super::deadline::budget::Budget;

tokio::task_local! {
    static CURRENT: Scope;
}

/// What the request being handled on this task shares with the code it runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
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

    /// `fut`, run with this scope as the current one.
    pub(crate) fn run<F: Future>(self, fut: F) -> Scoped<F> {
        Scoped {
            state: State::Running {
                fut: CURRENT.scope(self, fut),
            },
        }
    }
}

/// One part of a [`Scope`], set by a layer that knows only that part.
#[derive(Debug)]
pub(crate) enum Part {
    /// The deadline layer's budget.
    Budget(Budget),
    /// The inbound layer's context.
    Inbound(Inbound),
}

impl Part {
    /// `fut`, run with this part set in the scope current at its first poll (the rest kept).
    pub(crate) fn run<F: Future>(self, fut: F) -> Scoped<F> {
        Scoped {
            state: State::Waiting {
                part: Some(self),
                fut: Some(fut),
            },
        }
    }
}

pin_project! {
    /// A future run in a request [`Scope`] (public only to be named as a layer's future; its
    /// module is private).
    pub struct Scoped<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Not polled yet: `fut` has never been pinned, so it may still move.
        Waiting { part: Option<Part>, fut: Option<F> },
        Running { #[pin] fut: TaskLocalFuture<Scope, F> },
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let StateProj::Waiting { part, fut } = self.as_mut().project().state.project() {
            let mut scope = Scope::with(Clone::clone).unwrap_or_default();
            match part.take().expect("polled after completion") {
                Part::Budget(budget) => scope.budget = Some(budget),
                Part::Inbound(inbound) => scope.inbound = Some(inbound),
            }
            let fut = fut.take().expect("polled after completion");
            self.as_mut().project().state.set(State::Running {
                fut: CURRENT.scope(scope, fut),
            });
        }
        match self.project().state.project() {
            StateProj::Running { fut } => fut.poll(cx),
            StateProj::Waiting { .. } => unreachable!("set to running above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn a_part_joins_the_scope_current_at_its_first_poll() {
        assert!(Scope::with(|_| ()).is_none(), "no scope outside a request");
        let budget = Budget::new(Instant::now() + Duration::from_secs(1), None, None);
        // Built before the outer scope is current, as an inner layer's `call` builds it.
        let inner = Part::Inbound(Inbound::default()).run(async {
            assert!(Scope::with(|s| s.budget.is_some() && s.inbound.is_some()).unwrap());
        });
        let outer = Scope {
            budget: Some(budget),
            inbound: None,
        };
        outer.run(inner).await;
        assert!(Scope::with(|_| ()).is_none(), "left again afterwards");
    }
}
