use std::time::Duration;

/// A [`TimeLimit`](super::TimeLimit) cut a call or an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeLimitError {
    /// The call's deadline passed before it completed (or before it started); final, not
    /// retried.
    #[error("the call's deadline passed")]
    DeadlineExceeded,
    /// One attempt took longer than its timeout; retried when the request allows it.
    #[error("no answer within {}", humantime::format_duration(*after))]
    AttemptTimedOut {
        /// The time the attempt had.
        after: Duration,
    },
}
