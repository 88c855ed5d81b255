//! Skips Redis for a short while after consecutive failures, so that an outage costs each call
//! nothing instead of `cache.timeout`.
//!
//! Closed: every command goes to Redis; a success resets the count. After
//! `cache.breaker_failures` failures in a row it opens for `cache.breaker_cooldown`: commands
//! are not sent. When the cooldown has passed, one command (the first to ask) probes Redis
//! while the others keep skipping it; its success closes the breaker, its failure opens it for
//! another cooldown. Lock-free: two atomics.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    /// The reference point of `open_until`.
    epoch: Instant,
    /// Failed commands in a row.
    failures: AtomicU32,
    /// Milliseconds since `epoch` before which commands are skipped (0: never opened).
    open_until: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn cooldown_ms(&self) -> u64 {
        u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a command may go to Redis now. While open, `false`; once the cooldown has
    /// passed, `true` for one caller (the probe), which pushes the next probe a cooldown away.
    pub(crate) fn allow(&self) -> bool {
        if self.failures.load(Ordering::Acquire) < self.threshold {
            return true;
        }
        let now = self.now();
        let until = self.open_until.load(Ordering::Acquire);
        now >= until
            && self
                .open_until
                .compare_exchange(
                    until,
                    now.saturating_add(self.cooldown_ms()),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// Whether commands are being skipped now.
    pub(crate) fn is_open(&self) -> bool {
        self.failures.load(Ordering::Acquire) >= self.threshold
            && self.now() < self.open_until.load(Ordering::Acquire)
    }

    pub(crate) fn success(&self) {
        if self.failures.swap(0, Ordering::AcqRel) >= self.threshold {
            tracing::info!("the cache answers again; commands go to Redis");
        }
    }

    pub(crate) fn failure(&self) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures == self.threshold {
            self.open_until.store(
                self.now().saturating_add(self.cooldown_ms()),
                Ordering::Release,
            );
            tracing::warn!(
                failures,
                cooldown = ?self.cooldown,
                "cache commands keep failing: skipping Redis (calls go to their loaders) and probing it every cooldown"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_closes_on_success() {
        let breaker = Breaker::new(2, Duration::from_secs(3600));
        assert!(breaker.allow());
        breaker.failure();
        assert!(breaker.allow(), "one failure is below the threshold");
        breaker.failure();
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open: commands are skipped");
        breaker.success();
        assert!(!breaker.is_open());
        assert!(breaker.allow());
    }

    #[test]
    fn after_the_cooldown_one_caller_probes() {
        let breaker = Breaker::new(1, Duration::ZERO);
        breaker.failure();
        // A zero cooldown has passed at once: the first caller probes, and with the probe's
        // window of zero the next one may probe too; a failed probe keeps the breaker open.
        assert!(breaker.allow());
        breaker.failure();
        assert!(breaker.failures.load(Ordering::Acquire) >= 1);
        breaker.success();
        assert!(breaker.allow());

        let long = Breaker::new(1, Duration::from_secs(3600));
        long.failure();
        long.open_until.store(0, Ordering::Release);
        assert!(long.allow(), "the cooldown has passed: one probe");
        assert!(
            !long.allow(),
            "the next caller waits for the probe's result"
        );
    }
}
