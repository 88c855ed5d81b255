use std::fmt;
use std::time::Duration;

/// The circuit breaker is open: the call was not sent.
#[derive(Debug, Clone, Copy)]
pub struct CircuitOpen {
    remaining: Duration,
}

impl CircuitOpen {
    pub(crate) fn new(remaining: Duration) -> Self {
        Self { remaining }
    }

    /// Cooldown left before the breaker lets probes through (zero while half-open).
    pub fn remaining(&self) -> Duration {
        self.remaining
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit breaker open for another {}",
            humantime::format_duration(Duration::from_millis(
                u64::try_from(self.remaining.as_millis()).unwrap_or(u64::MAX)
            ))
        )
    }
}

impl std::error::Error for CircuitOpen {}
