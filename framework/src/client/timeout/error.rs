use std::fmt;
use std::time::Duration;

/// One attempt took longer than its timeout.
#[derive(Debug, Clone, Copy)]
pub struct AttemptTimedOut {
    after: Duration,
}

impl AttemptTimedOut {
    pub(crate) fn new(after: Duration) -> Self {
        Self { after }
    }

    /// The timeout that elapsed.
    pub fn after(&self) -> Duration {
        self.after
    }
}

impl fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no answer within {}",
            humantime::format_duration(self.after)
        )
    }
}

impl std::error::Error for AttemptTimedOut {}
