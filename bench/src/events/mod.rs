//! Case F (issue 17): events from a producer to a consumer through NATS JetStream, measured two
//! ways in the same run by `sk-events`:
//!
//! - [`bare`]: an async-nats loop, JetStream publish (awaiting each ack, a window of publishes
//!   in flight) to a stream read by a durable pull consumer that acks every message: the limit.
//! - [`framework`]: servicekit's path, two services in one process, each on its own
//!   PostgreSQL database: producers stage events in transactions (the outbox), the relay
//!   publishes them, and the consumer service's handler runs for each one after its inbox row
//!   is inserted, and commits.
//!
//! Both send the same [`BenchEvent`] and count from the moment an event is handed over (publish
//! called, transaction begun) to the moment the consumer's code sees it, on one clock.
//! `BENCH_EVENTS_WARMUP` warm-up events go through the whole pipeline first, and the measured
//! `BENCH_EVENTS` are sent only once all of them arrived (so the consumer's start is not
//! measured). The result is one JSON line ([`Summary`]).

pub mod bare;
pub mod framework;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The event both paths carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchEvent {
    /// 0, 1, 2, ... in the order producers took them; the first `warmup` are not measured.
    pub seq: u64,
    /// The aggregate key: `seq % BENCH_EVENTS_KEYS` (events of a key stay in order).
    pub key: u32,
    /// When the producer handed the event over, in nanoseconds since the epoch.
    pub sent_ns: u64,
}

/// The settings of a run, from the environment (defaults in brackets).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `BENCH_NATS` [`nats://127.0.0.1:4222`].
    pub nats_url: String,
    /// `BENCH_EVENTS_PREFIX` [`bench<pid>`]: namespaces the streams, so runs do not meet.
    pub prefix: String,
    /// `BENCH_EVENTS` [20000]: measured events.
    pub events: u64,
    /// `BENCH_EVENTS_WARMUP` [2000]: events sent first and not measured.
    pub warmup: u64,
    /// `BENCH_EVENTS_KEYS` [256]: distinct aggregate keys.
    pub keys: u32,
    /// `BENCH_EVENTS_CONCURRENCY` [64]: publishes in flight (bare), or concurrent staging
    /// transactions (framework).
    pub concurrency: usize,
    /// `BENCH_PG` [`postgres://postgres@127.0.0.1:5432`]: the framework path creates its two
    /// databases there.
    pub pg: String,
    /// `BENCH_EVENTS_TIMEOUT` [300 s]: longest wait for the last event.
    pub timeout: Duration,
}

impl Settings {
    /// Reads the environment.
    pub fn from_env() -> Result<Self, String> {
        fn var(name: &str, default: &str) -> String {
            std::env::var(name).unwrap_or_else(|_| default.to_string())
        }
        fn number<T: std::str::FromStr>(name: &str, default: &str) -> Result<T, String> {
            let value = var(name, default);
            value
                .parse()
                .map_err(|_| format!("{name}={value} is not a number"))
        }
        Ok(Self {
            nats_url: var("BENCH_NATS", "nats://127.0.0.1:4222"),
            prefix: var(
                "BENCH_EVENTS_PREFIX",
                &format!("bench{}", std::process::id()),
            ),
            events: number("BENCH_EVENTS", "20000")?,
            warmup: number("BENCH_EVENTS_WARMUP", "2000")?,
            keys: number::<u32>("BENCH_EVENTS_KEYS", "256")?.max(1),
            concurrency: number::<usize>("BENCH_EVENTS_CONCURRENCY", "64")?.max(1),
            pg: var("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
                .trim_end_matches('/')
                .to_string(),
            timeout: Duration::from_secs(number("BENCH_EVENTS_TIMEOUT", "300")?),
        })
    }

    /// Events sent in all: warm-up and measured.
    pub fn total(&self) -> u64 {
        self.warmup + self.events
    }

    /// The event with number `seq`, stamped now.
    pub fn event(&self, seq: u64) -> BenchEvent {
        BenchEvent {
            seq,
            key: (seq % u64::from(self.keys)) as u32,
            sent_ns: now_ns(),
        }
    }
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// What the consumer side saw: one `(sent, received)` pair per event, deduplicated by `seq`.
#[derive(Debug)]
pub struct Recorder {
    total: u64,
    warmup: u64,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    received: Vec<Option<(u64, u64)>>,
    count: u64,
    duplicates: u64,
}

impl Recorder {
    /// Waits for `settings.total()` events.
    pub fn new(settings: &Settings) -> Self {
        Self {
            total: settings.total(),
            warmup: settings.warmup,
            seen: Mutex::new(Seen {
                received: vec![None; usize::try_from(settings.total()).unwrap_or(usize::MAX)],
                ..Seen::default()
            }),
        }
    }

    /// Records `event` as received now.
    pub fn record(&self, event: &BenchEvent) {
        let now = now_ns();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slot) = usize::try_from(event.seq)
            .ok()
            .and_then(|i| seen.received.get_mut(i))
        else {
            return;
        };
        if slot.is_some() {
            seen.duplicates += 1;
            return;
        }
        *slot = Some((event.sent_ns, now));
        seen.count += 1;
    }

    /// Waits until every event arrived, or `timeout` passed (an error naming how many came).
    pub async fn wait(&self, timeout: Duration) -> Result<(), String> {
        self.wait_for(self.total, timeout).await
    }

    /// Waits until `count` events arrived, or `timeout` passed.
    pub async fn wait_for(&self, count: u64, timeout: Duration) -> Result<(), String> {
        let enough = async {
            loop {
                if self.count() >= count {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(timeout, enough).await.map_err(|_| {
            format!(
                "only {} of {count} events arrived within {timeout:?}",
                self.count()
            )
        })
    }

    fn count(&self) -> u64 {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).count
    }

    /// Throughput and latency of the measured events.
    pub fn summary(&self, path: &str) -> Summary {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let measured: Vec<(u64, u64)> = seen
            .received
            .iter()
            .skip(usize::try_from(self.warmup).unwrap_or(usize::MAX))
            .flatten()
            .copied()
            .collect();
        let first_sent = measured.iter().map(|m| m.0).min().unwrap_or_default();
        let last_received = measured.iter().map(|m| m.1).max().unwrap_or_default();
        let seconds = last_received.saturating_sub(first_sent) as f64 / 1e9;
        let mut latencies: Vec<u64> = measured.iter().map(|(s, r)| r.saturating_sub(*s)).collect();
        latencies.sort_unstable();
        let ms = |q: f64| percentile(&latencies, q) as f64 / 1e6;
        Summary {
            path: path.to_string(),
            events: measured.len() as u64,
            seconds,
            events_per_s: if seconds > 0.0 {
                measured.len() as f64 / seconds
            } else {
                0.0
            },
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            max_ms: ms(1.0),
            duplicates: seen.duplicates,
        }
    }
}

/// The `q` quantile (nearest rank) of sorted `values`.
fn percentile(values: &[u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// The result of one path, printed as one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `bare` or `servicekit`.
    pub path: String,
    /// Measured events.
    pub events: u64,
    /// From the first measured event sent to the last one received.
    pub seconds: f64,
    /// `events / seconds`.
    pub events_per_s: f64,
    /// Median sent-to-received latency.
    pub p50_ms: f64,
    /// 99th percentile of that latency.
    pub p99_ms: f64,
    /// The slowest event.
    pub max_ms: f64,
    /// Deliveries of an event already received (at-least-once redeliveries).
    pub duplicates: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
