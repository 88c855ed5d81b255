//! Names of the topics, queues and message ids the adapter uses, within AWS's limits.
//!
//! Topic and queue names allow letters, digits, `-` and `_` (anything else becomes `-`); a
//! FIFO name ends in `.fifo`; a topic name has at most 256 characters and a queue name at most
//! 80. A name that would be longer is cut and ends in a hash of the whole name, so two long
//! names that differ only at the end stay distinct.

/// The most characters of an SNS topic name, `.fifo` included.
pub(super) const MAX_TOPIC: usize = 256;
/// The most characters of an SQS queue name, `.fifo` included.
pub(super) const MAX_QUEUE: usize = 80;
/// The most characters of a `MessageGroupId` or `MessageDeduplicationId`.
pub(super) const MAX_MESSAGE_ID: usize = 128;

const FIFO: &str = ".fifo";
const DLQ: &str = "-dlq.fifo";

/// `<prefix>-<source>.fifo`: the FIFO topic a service publishes to.
pub(super) fn topic(prefix: Option<&str>, source: &str) -> String {
    fit(&joined(prefix, &[source]), FIFO, MAX_TOPIC)
}

/// `<prefix>-<consumer>-<source>.fifo`: the queue of `consumer` for `source`'s events.
pub(super) fn queue(prefix: Option<&str>, consumer: &str, source: &str) -> String {
    fit(&joined(prefix, &[consumer, source]), FIFO, MAX_QUEUE)
}

/// `<prefix>-<consumer>-<source>-dlq.fifo`: that queue's dead-letter queue.
pub(super) fn dead_letter_queue(prefix: Option<&str>, consumer: &str, source: &str) -> String {
    fit(&joined(prefix, &[consumer, source]), DLQ, MAX_QUEUE)
}

/// A `MessageGroupId` / `MessageDeduplicationId` for `value`: the value itself when AWS
/// accepts it (1 to 128 printable ASCII characters), else a stable substitute (the printable
/// part, cut, and a hash of the whole value), so one key always maps to one group.
pub(super) fn message_id(value: &str) -> String {
    let valid = !value.is_empty()
        && value.len() <= MAX_MESSAGE_ID
        && value.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        return value.to_owned();
    }
    let hash = format!("{:016x}", fnv1a(value.as_bytes()));
    let kept: String = value
        .chars()
        .filter(char::is_ascii_graphic)
        .take(MAX_MESSAGE_ID - hash.len() - 1)
        .collect();
    format!("{kept}~{hash}")
}

/// The parts joined with `-`, each sanitised.
fn joined(prefix: Option<&str>, parts: &[&str]) -> String {
    prefix
        .filter(|p| !p.is_empty())
        .into_iter()
        .chain(parts.iter().copied())
        .map(sanitised)
        .collect::<Vec<_>>()
        .join("-")
}

fn sanitised(part: &str) -> String {
    let clean: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() { "_".into() } else { clean }
}

/// `base + suffix` if it fits in `max` characters, else `base` cut, `-`, 8 hex digits of a hash
/// of `base`, and `suffix`.
fn fit(base: &str, suffix: &str, max: usize) -> String {
    if base.len() + suffix.len() <= max {
        return format!("{base}{suffix}");
    }
    let hash = format!("{:08x}", fnv1a(base.as_bytes()) as u32);
    // `base` is ASCII after sanitising, so any byte index is a char boundary.
    let keep = max - suffix.len() - hash.len() - 1;
    format!("{}-{hash}{suffix}", &base[..keep])
}

/// 64-bit FNV-1a: tiny and stable across Rust versions (std's hasher is not promised to be).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix_and_the_fifo_suffix() {
        assert_eq!(
            topic(Some("ci-42"), "student-service"),
            "ci-42-student-service.fifo"
        );
        assert_eq!(topic(None, "student-service"), "student-service.fifo");
        assert_eq!(topic(Some(""), "s"), "s.fifo");
        assert_eq!(
            queue(Some("ci"), "subject-service", "student-service"),
            "ci-subject-service-student-service.fifo"
        );
        assert_eq!(
            dead_letter_queue(Some("ci"), "subject", "student"),
            "ci-subject-student-dlq.fifo"
        );
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(
            topic(Some("env.prod"), "my service/v2"),
            "env-prod-my-service-v2.fifo"
        );
        assert_eq!(queue(None, "é", "a.b"), "--a-b.fifo");
    }

    #[test]
    fn long_names_are_cut_with_a_hash_and_stay_distinct() {
        let long = "x".repeat(300);
        let t = topic(Some("p"), &long);
        assert_eq!(t.len(), MAX_TOPIC);
        assert!(t.starts_with("p-xxx") && t.ends_with(".fifo"));
        let a = queue(Some("p"), &format!("{long}a"), "s");
        let b = queue(Some("p"), &format!("{long}b"), "s");
        let d = dead_letter_queue(Some("p"), &format!("{long}a"), "s");
        assert_eq!(a.len(), MAX_QUEUE);
        assert_eq!(d.len(), MAX_QUEUE);
        assert!(d.ends_with("-dlq.fifo"));
        assert_ne!(a, b);
        assert_eq!(a, queue(Some("p"), &format!("{long}a"), "s"), "stable");
    }

    #[test]
    fn message_ids_pass_through_or_map_stably() {
        assert_eq!(message_id("student-42"), "student-42");
        let id = "018f0e6c-7d1a-7b8e-9a3c-0123456789ab";
        assert_eq!(message_id(id), id);
        let odd = message_id("schüler 42");
        assert!(odd.len() <= MAX_MESSAGE_ID);
        assert!(odd.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(odd, message_id("schüler 42"));
        assert_ne!(odd, message_id("schüler 43"));
        assert!(!message_id("").is_empty());
        assert!(message_id(&"k".repeat(500)).len() <= MAX_MESSAGE_ID);
    }
}
