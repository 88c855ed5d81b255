//! The `[events]` configuration section and the rules serde cannot express.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[events]`: the message broker, the outbox relay and the consumers (see
/// [`docs/events.md`](https://github.com/servicekit/servicekit/blob/main/docs/events.md)).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// The broker (`SERVICEKIT__EVENTS__URL`): `nats://host:4222` (feature `events-nats`),
    /// `amqp://` / `amqps://` (`events-amqp`) or `sns://` (`events-aws`). Secret references
    /// are allowed. Unset: staged events stay in the outbox and nothing is consumed.
    pub url: Option<SecretString>,
    /// Namespaces every stream, exchange, topic and queue name, so that several environments
    /// or test runs share one broker (default: none).
    pub prefix: Option<String>,
    /// Longest one broker operation (connect, publish confirm, check) may take (default `5s`).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// `[events.outbox]`: the relay that publishes staged events.
    pub outbox: OutboxConfig,
    /// `[events.consumer]`: retries, dead letters and concurrency of the handlers.
    pub consumer: ConsumerConfig,
    /// `[events.aws]`: the SNS/SQS client (feature `events-aws`).
    pub aws: EventsAwsConfig,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            url: None,
            prefix: None,
            timeout: Duration::from_secs(5),
            outbox: OutboxConfig::default(),
            consumer: ConsumerConfig::default(),
            aws: EventsAwsConfig::default(),
        }
    }
}

/// `[events.outbox]`: how the relay reads the outbox table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// How often the relay looks for unsent rows when nothing wakes it (default `1s`); a
    /// staged event wakes the relay of its own instance at once.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Rows claimed and published per round (default `100`).
    pub batch_size: u32,
    /// Readiness warns (`events-outbox`) when more rows than this wait (default `1000`).
    pub backlog_warn_count: u64,
    /// Readiness warns when the oldest waiting row is older than this (default `5m`).
    #[serde(with = "humantime_serde")]
    pub backlog_warn_age: Duration,
    /// First wait after a failed publish (default `100ms`); doubles up to `backoff_max`.
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    /// Longest wait between publish attempts while the broker is down (default `30s`).
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch_size: 100,
            backlog_warn_count: 1000,
            backlog_warn_age: Duration::from_secs(300),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// `[events.consumer]`: how handlers are run.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Deliveries of one event before it is dead-lettered (default `5`).
    pub max_attempts: u32,
    /// Delay before the second delivery (default `1s`); doubles per attempt, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    /// Longest delay between deliveries (default `5m`).
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Messages delivered to one instance and not yet settled (default `64`).
    pub prefetch: u16,
    /// How long a delivered, unsettled message stays with one instance before the broker
    /// redelivers it (default `30s`): longer than the slowest handler.
    #[serde(with = "humantime_serde")]
    pub ack_wait: Duration,
    /// Handlers running at once per registration (default `8`); events of one key are still
    /// handled one after another.
    pub concurrency: u16,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            prefetch: 64,
            ack_wait: Duration::from_secs(30),
            concurrency: 8,
        }
    }
}

/// `[events.aws]`: overrides for the SNS/SQS client.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsAwsConfig {
    /// The region (default: the standard AWS chain, `AWS_REGION`).
    pub region: Option<String>,
    /// The endpoint, e.g. moto's or LocalStack's (default: `AWS_ENDPOINT_URL_SNS` /
    /// `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`, else AWS itself).
    pub endpoint_url: Option<String>,
}

/// The broker an `events.url` names, by scheme, and the cargo feature its adapter needs.
pub(crate) fn broker_of(url: &str) -> Option<(&'static str, &'static str, bool)> {
    let scheme = url.split_once("://").map(|(s, _)| s)?;
    match scheme.to_ascii_lowercase().as_str() {
        "nats" | "tls" => Some(("nats", "events-nats", cfg!(feature = "events-nats"))),
        "amqp" | "amqps" => Some(("amqp", "events-amqp", cfg!(feature = "events-amqp"))),
        "sns" | "sqs" => Some(("aws", "events-aws", cfg!(feature = "events-aws"))),
        _ => None,
    }
}

fn positive(key: &str, value: Duration, example: &str, env: &str) -> Result<(), InvalidSetting> {
    if value.is_zero() {
        return Err(InvalidSetting::new(
            key,
            "must be more than zero",
            format!("set it to a duration such as `{example}` ({env})"),
        ));
    }
    Ok(())
}

/// The `events.url` rule: a known scheme whose adapter `compiled` says is in this build.
fn broker_compiled(
    url: &str,
    compiled: impl Fn((&'static str, &'static str, bool)) -> bool,
) -> Result<(), InvalidSetting> {
    match broker_of(url) {
        None => Err(InvalidSetting::new(
            "events.url",
            "unsupported broker URL scheme (expected `nats://`, `amqp://`, `amqps://` or `sns://`)",
            "set it to the broker's URL, e.g. `nats://127.0.0.1:4222` \
             (SERVICEKIT__EVENTS__URL), or remove it to keep events in the outbox",
        )),
        Some(broker) if !compiled(broker) => {
            let (name, feature, _) = broker;
            Err(InvalidSetting::new(
                "events.url",
                crate::features::missing(feature, &format!("an {name} events.url")),
                format!("{}, or remove events.url", crate::features::enable(feature)),
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Checks the rules serde cannot express; the first broken one names its key.
pub(crate) fn validate(config: &EventsConfig) -> Result<(), InvalidSetting> {
    if let Some(url) = &config.url {
        broker_compiled(url.expose_secret(), |(.., compiled)| compiled)?;
    }
    if let Some(prefix) = &config.prefix
        && (prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(InvalidSetting::new(
            "events.prefix",
            "must be letters, digits, `-` and `_` only (it becomes part of stream, exchange and queue names)",
            "set it to a short name such as `staging` (SERVICEKIT__EVENTS__PREFIX), or remove it",
        ));
    }
    positive(
        "events.timeout",
        config.timeout,
        "5s",
        "SERVICEKIT__EVENTS__TIMEOUT",
    )?;
    let outbox = &config.outbox;
    positive(
        "events.outbox.poll_interval",
        outbox.poll_interval,
        "1s",
        "SERVICEKIT__EVENTS__OUTBOX__POLL_INTERVAL",
    )?;
    if outbox.batch_size == 0 {
        return Err(InvalidSetting::new(
            "events.outbox.batch_size",
            "must be at least 1",
            "set it to the rows published per round, e.g. `100` \
             (SERVICEKIT__EVENTS__OUTBOX__BATCH_SIZE)",
        ));
    }
    positive(
        "events.outbox.backoff_min",
        outbox.backoff_min,
        "100ms",
        "SERVICEKIT__EVENTS__OUTBOX__BACKOFF_MIN",
    )?;
    if outbox.backoff_max < outbox.backoff_min {
        return Err(InvalidSetting::new(
            "events.outbox.backoff_max",
            "must not be shorter than events.outbox.backoff_min",
            "raise events.outbox.backoff_max or lower events.outbox.backoff_min, e.g. `30s` and \
             `100ms` (SERVICEKIT__EVENTS__OUTBOX__BACKOFF_MAX)",
        ));
    }
    let consumer = &config.consumer;
    if consumer.max_attempts == 0 {
        return Err(InvalidSetting::new(
            "events.consumer.max_attempts",
            "must be at least 1",
            "set it to the deliveries before an event is dead-lettered, e.g. `5` \
             (SERVICEKIT__EVENTS__CONSUMER__MAX_ATTEMPTS)",
        ));
    }
    positive(
        "events.consumer.backoff_min",
        consumer.backoff_min,
        "1s",
        "SERVICEKIT__EVENTS__CONSUMER__BACKOFF_MIN",
    )?;
    if consumer.backoff_max < consumer.backoff_min {
        return Err(InvalidSetting::new(
            "events.consumer.backoff_max",
            "must not be shorter than events.consumer.backoff_min",
            "raise events.consumer.backoff_max or lower events.consumer.backoff_min, e.g. `5m` \
             and `1s` (SERVICEKIT__EVENTS__CONSUMER__BACKOFF_MAX)",
        ));
    }
    if consumer.prefetch == 0 {
        return Err(InvalidSetting::new(
            "events.consumer.prefetch",
            "must be at least 1",
            "set it to the unsettled messages one instance may hold, e.g. `64` \
             (SERVICEKIT__EVENTS__CONSUMER__PREFETCH)",
        ));
    }
    positive(
        "events.consumer.ack_wait",
        consumer.ack_wait,
        "30s",
        "SERVICEKIT__EVENTS__CONSUMER__ACK_WAIT",
    )?;
    if consumer.concurrency == 0 {
        return Err(InvalidSetting::new(
            "events.consumer.concurrency",
            "must be at least 1",
            "set it to the handlers run at once, e.g. `8` \
             (SERVICEKIT__EVENTS__CONSUMER__CONCURRENCY)",
        ));
    }
    if let Some(endpoint) = &config.aws.endpoint_url
        && url::Url::parse(endpoint).is_err()
    {
        return Err(InvalidSetting::new(
            "events.aws.endpoint_url",
            "is not a URL",
            "set it to the endpoint's URL, e.g. `http://127.0.0.1:5000` \
             (SERVICEKIT__EVENTS__AWS__ENDPOINT_URL), or remove it",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(validate(&EventsConfig::default()), Ok(()));
    }

    #[test]
    fn unknown_schemes_and_bad_prefixes_name_their_key() {
        let ftp = EventsConfig {
            url: Some("ftp://broker".into()),
            ..EventsConfig::default()
        };
        assert_eq!(validate(&ftp).unwrap_err().key, "events.url");
        let dotted = EventsConfig {
            prefix: Some("a.b".into()),
            ..EventsConfig::default()
        };
        assert_eq!(validate(&dotted).unwrap_err().key, "events.prefix");
    }

    #[test]
    fn a_broker_whose_feature_is_off_names_the_feature() {
        for (url, feature) in [
            ("nats://127.0.0.1:4222", "events-nats"),
            ("amqp://guest:guest@127.0.0.1:5672", "events-amqp"),
            ("amqps://broker", "events-amqp"),
            ("sns://", "events-aws"),
        ] {
            let e = broker_compiled(url, |_| false).unwrap_err();
            assert_eq!(e.key, "events.url");
            assert!(
                e.message.contains(&format!("`{feature}` cargo feature")),
                "{e}"
            );
            assert!(
                e.fix.contains(&format!("features = [\"{feature}\"]")),
                "{e}"
            );
            assert_eq!(broker_compiled(url, |_| true), Ok(()));
        }
        // This build: the features it holds are accepted.
        let nats = EventsConfig {
            url: Some("nats://127.0.0.1:4222".into()),
            ..EventsConfig::default()
        };
        assert_eq!(validate(&nats).is_ok(), cfg!(feature = "events-nats"));
    }
}
