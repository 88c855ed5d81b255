//! The bare loop: async-nats alone, JetStream publish and a durable pull consumer.

use std::sync::Arc;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;

use super::{BenchEvent, Recorder, Settings, Summary};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the bare loop: `settings.total()` events, at most `settings.concurrency` publishes
/// awaiting their ack at a time, each acked by the consumer after it is parsed.
pub async fn run(settings: &Settings) -> Result<Summary, BoxError> {
    let client = async_nats::connect(settings.nats_url.as_str()).await?;
    let js = jetstream::new(client);
    let name = format!("{}_bare", settings.prefix);
    let subject = format!("{}.bare.bench.event", settings.prefix);
    // A fresh stream: an earlier run's messages would count.
    let _ = js.delete_stream(&name).await;
    let stream = js
        .create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![format!("{}.bare.>", settings.prefix)],
            ..Default::default()
        })
        .await?;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("bare".into()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let recorder = Arc::new(Recorder::new(settings));

    let mut messages = consumer.messages().await?;
    let seen = Arc::clone(&recorder);
    let consuming = tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            let message = message?;
            let event: BenchEvent = serde_json::from_slice(&message.payload)?;
            seen.record(&event);
            message.ack().await?;
        }
        Ok::<_, BoxError>(())
    });

    for range in [0..settings.warmup, settings.warmup..settings.total()] {
        let end = range.end;
        let publishing = futures_util::stream::iter(range)
            .map(|seq| {
                let js = js.clone();
                let subject = subject.clone();
                async move {
                    let body = serde_json::to_vec(&settings.event(seq))?;
                    js.publish(subject, body.into()).await?.await?;
                    Ok::<_, BoxError>(())
                }
            })
            .buffer_unordered(settings.concurrency);
        futures_util::pin_mut!(publishing);
        while let Some(published) = publishing.next().await {
            published?;
        }
        recorder.wait_for(end, settings.timeout).await?;
    }
    consuming.abort();
    let _ = js.delete_stream(&name).await;
    Ok(recorder.summary("bare"))
}
