//! Topology names, all derived from `events.prefix` so that environments and test runs can
//! share one broker:
//!
//! | what | name |
//! |---|---|
//! | a publisher's topic exchange | `<prefix>.<service>` |
//! | a consumer's queue | `<prefix>.<consumer>.<source>` |
//! | its dead-letter queue | `<prefix>.<consumer>.<source>.dlq` |
//! | its delay queues | `<prefix>.<consumer>.<source>.retry.<delay>` |
//!
//! Without a prefix the leading `<prefix>.` is left out.

use std::time::Duration;

/// The delays a retry is rounded up to: one delay queue each, created on first use.
///
/// A queue-wide TTL (`x-message-ttl`) expires messages in order, whereas per-message
/// `expiration` in one shared queue only expires the message at its head, so a 1 s retry
/// queued behind a 1 h one would wait an hour.
pub(super) const RETRY_DELAYS: [Duration; 12] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
];

/// `<prefix>.<name>`, or `<name>` without a prefix.
fn prefixed(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}.{name}"),
        _ => name.to_owned(),
    }
}

/// The topic exchange a service publishes to.
pub(super) fn exchange(prefix: Option<&str>, service: &str) -> String {
    prefixed(prefix, service)
}

/// The names of one durable consumer's queues.
#[derive(Debug, Clone)]
pub(super) struct QueueNames {
    /// The queue bound to the source's exchange.
    pub(super) main: String,
    /// Where `dead_letter` (and the broker's own dead-lettering) puts messages.
    pub(super) dead_letter: String,
}

impl QueueNames {
    /// The queues of `consumer` reading `source`'s events.
    pub(super) fn new(prefix: Option<&str>, consumer: &str, source: &str) -> Self {
        let main = prefixed(prefix, &format!("{consumer}.{source}"));
        Self {
            dead_letter: format!("{main}.dlq"),
            main,
        }
    }

    /// The delay queue used for a retry after `delay`, and its TTL (`delay` rounded up to one
    /// of [`RETRY_DELAYS`], at most the last).
    pub(super) fn retry(&self, delay: Duration) -> (String, Duration) {
        let ttl = RETRY_DELAYS
            .iter()
            .copied()
            .find(|bucket| *bucket >= delay)
            .unwrap_or(RETRY_DELAYS[RETRY_DELAYS.len() - 1]);
        (format!("{}.retry.{}ms", self.main, ttl.as_millis()), ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix_when_there_is_one() {
        assert_eq!(exchange(Some("staging"), "students"), "staging.students");
        assert_eq!(exchange(None, "students"), "students");
        assert_eq!(exchange(Some(""), "students"), "students");
        let names = QueueNames::new(Some("staging"), "subjects", "students");
        assert_eq!(names.main, "staging.subjects.students");
        assert_eq!(names.dead_letter, "staging.subjects.students.dlq");
        assert_eq!(QueueNames::new(None, "a", "b").main, "a.b");
    }

    #[test]
    fn retry_delays_round_up_to_a_bucket() {
        let names = QueueNames::new(None, "subjects", "students");
        assert_eq!(
            names.retry(Duration::ZERO),
            (
                "subjects.students.retry.100ms".into(),
                Duration::from_millis(100)
            )
        );
        assert_eq!(
            names.retry(Duration::from_millis(1500)).1,
            Duration::from_secs(2)
        );
        assert_eq!(
            names.retry(Duration::from_secs(2)).1,
            Duration::from_secs(2)
        );
        assert_eq!(
            names.retry(Duration::from_secs(86_400)).1,
            Duration::from_secs(3600)
        );
    }
}
