//! hyper's HTTP/1 header read timer with one tokio timer per connection.
//!
//! hyper arms its header read timer afresh for every request head of a kept-alive connection:
//! it asks its [`Timer`] for a new sleep, polls it while the head is incomplete and drops it once
//! the head has arrived. With hyper-util's `TokioTimer` every request therefore creates a
//! `tokio::time::Sleep`, registers it with the runtime's timer wheel (a lock and an insert) and
//! cancels it again (a lock and a remove): about 600 instructions per request in the hot-path
//! profile (docs/performance.md, seventh round).
//!
//! [`ConnectionTimer`] is created for each connection and keeps that connection's tokio sleep
//! between heads. A head's sleep ([`HeadSleep`]) takes the connection's sleep when it is first
//! polled and gives it back when hyper drops it. The kept sleep stays registered at the deadline
//! it was armed for, which is never later than the new head's (each head's deadline is its start
//! plus the same timeout); when it fires before the head's own deadline, it is re-armed for that
//! deadline and polled again. So a request head costs a field write and a poll of a registered
//! sleep, and the wheel is touched once per timeout period instead of twice per request; a
//! kept sleep that fires between heads wakes the connection's task once, which finds nothing to
//! do. Written here because neither hyper nor hyper-util offers a timer that reuses its sleeps.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// How far away a sleep too long for an `Instant` is set: 30 years, as tokio's `far_future`.
const NEVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The connection's tokio sleep while no head's sleep holds it.
type Spare = Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>;

/// A [`Timer`] for one HTTP/1 connection; see the module documentation.
#[derive(Clone, Default)]
pub(super) struct ConnectionTimer {
    spare: Spare,
}

impl Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        let now = tokio::time::Instant::now();
        // As `tokio::time::sleep` does: a duration past what an `Instant` holds is "never".
        self.head(now.checked_add(duration).unwrap_or_else(|| now + NEVER))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        self.head(deadline.into())
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HeadSleep>() {
            Some(head) => head.get_mut().deadline = new_deadline.into(),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl ConnectionTimer {
    fn head(&self, deadline: tokio::time::Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(HeadSleep {
            deadline,
            inner: None,
            spare: self.spare.clone(),
        })
    }
}

/// One head's sleep: ready at `deadline`, on the connection's tokio sleep once polled.
struct HeadSleep {
    deadline: tokio::time::Instant,
    inner: Option<Pin<Box<tokio::time::Sleep>>>,
    spare: Spare,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let deadline = this.deadline;
        let inner = this.inner.get_or_insert_with(|| {
            let spare = this
                .spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            spare.unwrap_or_else(|| Box::pin(tokio::time::sleep_until(deadline)))
        });
        if inner.deadline() > deadline {
            // Armed for a later deadline (a reset to an earlier one): it must fire sooner.
            inner.as_mut().reset(deadline);
        }
        loop {
            ready!(inner.as_mut().poll(cx));
            if inner.deadline() >= deadline {
                return Poll::Ready(());
            }
            // It fired at an earlier head's deadline: wait on for this one.
            inner.as_mut().reset(deadline);
        }
    }
}

impl Sleep for HeadSleep {}

impl Drop for HeadSleep {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            *self.spare.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    /// Whether `sleep` is ready now, polled once.
    fn ready_now(sleep: &mut Pin<Box<dyn Sleep>>) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        sleep.as_mut().poll(&mut cx).is_ready()
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_sleep_fires_at_its_own_deadline_on_the_reused_timer() {
        let timer = ConnectionTimer::default();
        let timeout = Duration::from_secs(60);
        // The first head arms the connection's sleep.
        let mut first = timer.sleep(timeout);
        assert!(!ready_now(&mut first));
        drop(first);
        assert!(
            timer.spare.lock().unwrap().is_some(),
            "kept for the next head"
        );

        // The next head starts later; its sleep takes over the one armed for the first.
        tokio::time::advance(Duration::from_secs(30)).await;
        let start = tokio::time::Instant::now();
        let mut second = timer.sleep(timeout);
        assert!(!ready_now(&mut second));
        assert!(timer.spare.lock().unwrap().is_none(), "taken");
        // Past the first head's deadline, not the second's: still pending.
        tokio::time::advance(Duration::from_secs(45)).await;
        assert!(!ready_now(&mut second));
        poll_fn(|cx| second.as_mut().poll(cx)).await;
        assert_eq!(start.elapsed(), timeout, "ready exactly at its deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_to_an_earlier_deadline_fires_sooner() {
        let timer = ConnectionTimer::default();
        let start = tokio::time::Instant::now();
        let mut sleep = timer.sleep(Duration::from_secs(60));
        assert!(!ready_now(&mut sleep));
        timer.reset(&mut sleep, (start + Duration::from_secs(5)).into_std());
        poll_fn(|cx| sleep.as_mut().poll(cx)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_longer_than_an_instant_holds_never_fires() {
        let timer = ConnectionTimer::default();
        let mut sleep = timer.sleep(Duration::MAX);
        assert!(!ready_now(&mut sleep));
        tokio::time::advance(Duration::from_secs(86_400 * 365)).await;
        assert!(!ready_now(&mut sleep));
    }

    #[tokio::test(start_paused = true)]
    async fn two_sleeps_at_once_each_get_a_timer() {
        let timer = ConnectionTimer::default();
        let start = tokio::time::Instant::now();
        let mut long = timer.sleep(Duration::from_secs(60));
        let mut short = timer.sleep(Duration::from_secs(1));
        assert!(!ready_now(&mut long));
        assert!(!ready_now(&mut short));
        poll_fn(|cx| short.as_mut().poll(cx)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert!(!ready_now(&mut long));
        poll_fn(|cx| long.as_mut().poll(cx)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }
}
