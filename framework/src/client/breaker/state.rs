use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::CircuitOpen;
use crate::client::ClientConfig;
use crate::client::config::BreakerConfig;
use crate::client::metrics;

/// The breaker's state, as reported by [`CircuitBreaker::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls fail fast until the cooldown ends.
    Open,
    /// A few probe calls pass to test the downstream.
    HalfOpen,
}

impl BreakerState {
    fn label(self) -> (&'static str, f64) {
        match self {
            Self::Closed => ("closed", 0.0),
            Self::HalfOpen => ("half_open", 1.0),
            Self::Open => ("open", 2.0),
        }
    }
}

/// A shared circuit breaker; cloning shares the state. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    config: BreakerConfig,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    /// Bumped at every transition, so late outcomes of an older period are ignored.
    generation: u64,
    /// Outcomes of the last calls while closed, `true` for a failure.
    window: VecDeque<bool>,
    failures: u32,
    consecutive: u32,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, succeeded: u32 },
}

/// Admission to make one call; report its outcome with [`CircuitBreaker::record`].
#[derive(Debug)]
pub(crate) struct Permit {
    generation: u64,
    probe: bool,
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the metrics' `client` label).
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        let window = VecDeque::with_capacity(config.window as usize);
        let name: Arc<str> = name.into();
        // The state series exists (closed) from the start, not from the first transition.
        let (_, closed) = BreakerState::Closed.label();
        metrics::breaker_gauge(&name, closed);
        Self {
            inner: Arc::new(Shared {
                name,
                config,
                state: Mutex::new(State {
                    mode: Mode::Closed,
                    generation: 0,
                    window,
                    failures: 0,
                    consecutive: 0,
                }),
            }),
        }
    }

    /// A breaker with the settings of `config.breaker`.
    pub fn from_config(name: impl Into<Arc<str>>, config: &ClientConfig) -> Self {
        Self::new(name, config.breaker.clone())
    }

    /// The current state (an open breaker whose cooldown ended reports `HalfOpen`).
    pub fn state(&self) -> BreakerState {
        let state = self.lock();
        match state.mode {
            Mode::Closed => BreakerState::Closed,
            Mode::Open { until } if Instant::now() < until => BreakerState::Open,
            Mode::Open { .. } | Mode::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a call, or says how long the breaker stays open.
    pub(crate) fn try_acquire(&self) -> Result<Permit, CircuitOpen> {
        if !self.inner.config.enabled {
            return Ok(Permit {
                generation: u64::MAX,
                probe: false,
            });
        }
        let mut state = self.lock();
        match state.mode {
            Mode::Closed => Ok(Permit {
                generation: state.generation,
                probe: false,
            }),
            Mode::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(CircuitOpen::new(until - now));
                }
                self.transition(
                    &mut state,
                    Mode::HalfOpen {
                        in_flight: 1,
                        succeeded: 0,
                    },
                );
                Ok(Permit {
                    generation: state.generation,
                    probe: true,
                })
            }
            Mode::HalfOpen {
                in_flight,
                succeeded,
            } => {
                if in_flight + succeeded >= self.inner.config.half_open_probes {
                    return Err(CircuitOpen::new(Duration::ZERO));
                }
                state.mode = Mode::HalfOpen {
                    in_flight: in_flight + 1,
                    succeeded,
                };
                Ok(Permit {
                    generation: state.generation,
                    probe: true,
                })
            }
        }
    }

    /// Records the outcome of an admitted call.
    pub(crate) fn record(&self, permit: Permit, failed: bool) {
        let mut state = self.lock();
        if permit.generation != state.generation {
            return;
        }
        let config = &self.inner.config;
        match state.mode {
            Mode::Closed => {
                state.window.push_back(failed);
                if failed {
                    state.failures += 1;
                    state.consecutive += 1;
                } else {
                    state.consecutive = 0;
                }
                if state.window.len() > config.window as usize
                    && state.window.pop_front() == Some(true)
                {
                    state.failures -= 1;
                }
                let calls = state.window.len() as u32;
                let rate_tripped = calls >= config.min_calls
                    && f64::from(state.failures)
                        >= f64::from(config.failure_rate) * f64::from(calls);
                if failed && (rate_tripped || state.consecutive >= config.consecutive_failures) {
                    self.open(&mut state);
                }
            }
            Mode::HalfOpen {
                in_flight,
                succeeded,
            } if permit.probe => {
                if failed {
                    self.open(&mut state);
                } else if succeeded + 1 >= config.half_open_probes {
                    self.transition(&mut state, Mode::Closed);
                } else {
                    state.mode = Mode::HalfOpen {
                        in_flight: in_flight.saturating_sub(1),
                        succeeded: succeeded + 1,
                    };
                }
            }
            Mode::HalfOpen { .. } | Mode::Open { .. } => {}
        }
    }

    /// Returns a permit whose call says nothing about the downstream (it was never sent).
    pub(crate) fn release(&self, permit: Permit) {
        let mut state = self.lock();
        if let (
            true,
            true,
            Mode::HalfOpen {
                in_flight,
                succeeded,
            },
        ) = (
            permit.probe,
            permit.generation == state.generation,
            state.mode,
        ) {
            state.mode = Mode::HalfOpen {
                in_flight: in_flight.saturating_sub(1),
                succeeded,
            };
        }
    }

    /// A probe whose outcome will never come (its call was cancelled) frees its slot.
    pub(crate) fn cancel(&self, permit: Permit) {
        if permit.probe {
            // A probe that did not finish in time says the downstream is still not well.
            self.record(permit, true);
        }
    }

    fn open(&self, state: &mut State) {
        let until = Instant::now() + self.inner.config.cooldown;
        self.transition(state, Mode::Open { until });
    }

    fn transition(&self, state: &mut State, mode: Mode) {
        state.mode = mode;
        state.generation += 1;
        state.window.clear();
        state.failures = 0;
        state.consecutive = 0;
        let new = match mode {
            Mode::Closed => BreakerState::Closed,
            Mode::Open { .. } => BreakerState::Open,
            Mode::HalfOpen { .. } => BreakerState::HalfOpen,
        };
        let (label, value) = new.label();
        match new {
            BreakerState::Open => {
                tracing::warn!(client = %self.inner.name, "circuit breaker opened")
            }
            _ => {
                tracing::info!(client = %self.inner.name, state = label, "circuit breaker state changed")
            }
        }
        metrics::breaker_state(&self.inner.name, label, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(
            "test",
            BreakerConfig {
                enabled: true,
                failure_rate: 0.5,
                window: 10,
                min_calls: 4,
                consecutive_failures: 3,
                cooldown: Duration::from_millis(cooldown_ms),
                half_open_probes: 2,
            },
        )
    }

    fn call(b: &CircuitBreaker, failed: bool) -> Result<(), CircuitOpen> {
        let permit = b.try_acquire()?;
        b.record(permit, failed);
        Ok(())
    }

    #[test]
    fn opens_on_consecutive_failures_and_fails_fast() {
        let b = breaker(60_000);
        for _ in 0..3 {
            call(&b, true).unwrap();
        }
        assert_eq!(b.state(), BreakerState::Open);
        let open = call(&b, false).unwrap_err();
        assert!(open.remaining() > Duration::from_secs(50));
    }

    #[test]
    fn opens_on_failure_rate_with_minimum_calls() {
        let b = breaker(60_000);
        for failed in [true, false, true, false] {
            call(&b, failed).unwrap();
        }
        // 2 of 4 failed: the rate trips on the next failure only, as the check runs on failures.
        assert_eq!(b.state(), BreakerState::Closed);
        call(&b, true).unwrap();
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn half_open_probes_close_or_reopen() {
        let b = breaker(0);
        for _ in 0..3 {
            call(&b, true).unwrap();
        }
        // Cooldown 0: the next call is a probe.
        let p1 = b.try_acquire().unwrap();
        let p2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err(), "only two probes");
        b.record(p1, false);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.record(p2, false);
        assert_eq!(b.state(), BreakerState::Closed);

        for _ in 0..3 {
            call(&b, true).unwrap();
        }
        let probe = b.try_acquire().unwrap();
        b.record(probe, true);
        // Reopened (cooldown 0 makes it report half-open at once).
        assert!(b.try_acquire().is_ok());
    }

    #[test]
    fn late_outcomes_of_an_old_period_are_ignored() {
        let b = breaker(60_000);
        let late = b.try_acquire().unwrap();
        for _ in 0..3 {
            call(&b, true).unwrap();
        }
        b.record(late, false);
        assert_eq!(b.state(), BreakerState::Open);
    }
}
