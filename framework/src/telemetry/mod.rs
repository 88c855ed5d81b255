//! Logging set up in one place: a `tracing` subscriber, pretty in development, JSON elsewhere.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat, parse_filter};

/// Installs the global subscriber for `log` in `environment`.
///
/// Returns `false` (and changes nothing) when a subscriber is already installed, as in a test
/// binary that starts several services.
pub fn init(log: &LogConfig, environment: &str) -> bool {
    let Ok(filter) = parse_filter(log) else {
        // Validated with the configuration; unreachable in a loaded service.
        return false;
    };
    let format = match log.format {
        LogFormat::Auto if matches!(environment, "dev" | "test" | "local") => LogFormat::Pretty,
        LogFormat::Auto => LogFormat::Json,
        other => other,
    };
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer();
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt.json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Compact => registry.with(fmt.compact()).try_init(),
        LogFormat::Pretty | LogFormat::Auto => registry.with(fmt.pretty()).try_init(),
    };
    result.is_ok()
}
