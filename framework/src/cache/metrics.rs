//! The cache's metrics, named in `telemetry::catalog`.

use std::time::Duration;

use crate::telemetry::catalog;

/// A Redis command of the cache, as the `operation` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Get,
    Set,
    Delete,
}

impl Operation {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
        }
    }
}

/// Why a command gave no answer, as the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Redis answered with an error, or the connection failed.
    Error,
    /// No answer within `cache.timeout`.
    Timeout,
    /// Not sent: the breaker is open.
    Open,
}

impl Reason {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Open => "open",
        }
    }
}

/// What a lookup found, as the `result` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    Miss,
    Error,
}

pub(crate) fn lookup(result: Lookup) {
    let result = match result {
        Lookup::Hit => "hit",
        Lookup::Miss => "miss",
        Lookup::Error => "error",
    };
    metrics::counter!(catalog::CACHE_REQUESTS_TOTAL, "result" => result).increment(1);
}

pub(crate) fn duration(operation: Operation, elapsed: Duration) {
    metrics::histogram!(catalog::CACHE_OPERATION_DURATION_SECONDS, "operation" => operation.as_str())
        .record(elapsed.as_secs_f64());
}

pub(crate) fn failed(operation: Operation, reason: Reason) {
    metrics::counter!(
        catalog::CACHE_ERRORS_TOTAL,
        "operation" => operation.as_str(),
        "reason" => reason.as_str()
    )
    .increment(1);
}

pub(crate) fn bypass(reason: Reason) {
    metrics::counter!(catalog::CACHE_BYPASS_TOTAL, "reason" => reason.as_str()).increment(1);
}

/// How a load of `get_or_load` ended, as the `outcome` label.
pub(crate) fn load(outcome: &'static str) {
    metrics::counter!(catalog::CACHE_LOADS_TOTAL, "outcome" => outcome).increment(1);
}
