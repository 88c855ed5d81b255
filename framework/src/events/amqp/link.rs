//! The connection to RabbitMQ, kept up by a background task that reconnects with backoff.
//!
//! lapin's own recovery (`enable_auto_recover`) replays topology on the same `Connection`
//! object, but it needs a first successful connect and its consumers resume silently; here the
//! adapter wants the opposite: `connect` returns before the broker answers, operations fail fast
//! with [`TransportError::Unavailable`] while it is away, and each subscription reopens its
//! own consumer when the runtime calls `next` again. So one task owns the connection and
//! publishes its state through a `watch` channel; everything else takes a snapshot.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Event};
use tokio::sync::watch;

use super::error::{classify, unavailable};
use crate::events::transport::TransportError;

/// First pause after a failed connection attempt; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where the connection stands.
#[derive(Clone)]
enum State {
    /// The first attempt has not finished: operations wait for it (up to the timeout).
    Starting,
    /// Connected.
    Up(Arc<Connection>),
    /// Not connected (the reason, for the error): the task is retrying in the background.
    Down(String),
}

/// A handle on the broker connection; the background task stops when the last handle drops.
pub(super) struct Link {
    state: watch::Receiver<State>,
    /// `host:port/vhost`, without credentials: what logs and errors name.
    endpoint: String,
    timeout: Duration,
    /// Dropped with the link: closes the task's `stop` receiver.
    _stop: watch::Sender<()>,
}

impl Link {
    /// Starts the background connection task; never waits for the broker.
    pub(super) fn start(uri: AMQPUri, service: &str, timeout: Duration) -> Arc<Self> {
        let endpoint = format!(
            "{}:{}/{}",
            uri.authority.host, uri.authority.port, uri.vhost
        );
        let (state_tx, state) = watch::channel(State::Starting);
        let (stop, stop_rx) = watch::channel(());
        let properties = ConnectionProperties::default().with_connection_name(service.into());
        tokio::spawn(supervise(
            uri,
            properties,
            endpoint.clone(),
            timeout,
            state_tx,
            stop_rx,
        ));
        Arc::new(Self {
            state,
            endpoint,
            timeout,
            _stop: stop,
        })
    }

    /// Longest one broker operation may take.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The current connection, or `Unavailable` while there is none (waiting for the very
    /// first attempt, at most the timeout).
    pub(super) async fn connection(&self) -> Result<Arc<Connection>, TransportError> {
        let mut state = self.state.clone();
        let settled = tokio::time::timeout(
            self.timeout,
            state.wait_for(|s| !matches!(s, State::Starting)),
        )
        .await;
        let current = match settled {
            Ok(Ok(current)) => current.clone(),
            Ok(Err(_)) => State::Down("the connection task stopped".into()),
            Err(_) => State::Down(format!("no connection within {:?}", self.timeout)),
        };
        match current {
            State::Up(connection) if connection.status().connected() => Ok(connection),
            State::Up(_) => Err(self.down("the connection is closing")),
            State::Down(reason) => Err(self.down(&reason)),
            State::Starting => Err(self.down("still connecting")),
        }
    }

    /// A new channel on the current connection, opened within the timeout.
    pub(super) async fn channel(&self) -> Result<Channel, TransportError> {
        let connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, connection.create_channel()).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(error)) => Err(classify(error)),
            Err(_) => Err(self.down("no channel within the timeout")),
        }
    }

    fn down(&self, reason: &str) -> TransportError {
        unavailable(format!(
            "RabbitMQ at {} is not connected: {reason}",
            self.endpoint
        ))
    }
}

/// Connects, waits for the connection to break, and connects again, until the link drops.
async fn supervise(
    uri: AMQPUri,
    properties: ConnectionProperties,
    endpoint: String,
    timeout: Duration,
    state: watch::Sender<State>,
    mut stop: watch::Receiver<()>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut failures = 0_u32;
    loop {
        let attempt = tokio::time::timeout(
            timeout,
            Connection::connect_uri(uri.clone(), properties.clone()),
        );
        let outcome = tokio::select! {
            outcome = attempt => outcome,
            _ = stop.changed() => return,
        };
        match outcome {
            Ok(Ok(connection)) => {
                let mut events = connection.events_listener();
                let connection = Arc::new(connection);
                tracing::info!(broker = "amqp", %endpoint, "connected to RabbitMQ");
                state.send_replace(State::Up(connection.clone()));
                backoff = MIN_BACKOFF;
                failures = 0;
                let reason = tokio::select! {
                    reason = broken(&connection, &mut events) => reason,
                    _ = stop.changed() => {
                        state.send_replace(State::Down("the transport was dropped".into()));
                        let close = connection.close(200, "OK".into());
                        let _ = tokio::time::timeout(timeout, close).await;
                        return;
                    }
                };
                tracing::warn!(
                    broker = "amqp", %endpoint, error = %reason,
                    "lost the RabbitMQ connection; reconnecting in the background"
                );
                state.send_replace(State::Down(reason));
                // On to the backoff: a broker that accepts and drops at once is not hammered.
            }
            Ok(Err(error)) => {
                let reason = error.to_string();
                tracing::debug!(broker = "amqp", %endpoint, error = %reason, failures, "connection attempt failed");
                if failures == 0 {
                    tracing::warn!(
                        broker = "amqp", %endpoint, error = %reason,
                        "cannot connect to RabbitMQ; retrying in the background"
                    );
                }
                state.send_replace(State::Down(reason));
            }
            Err(_) => {
                if failures == 0 {
                    tracing::warn!(
                        broker = "amqp", %endpoint, ?timeout,
                        "RabbitMQ did not answer within the timeout; retrying in the background"
                    );
                }
                state.send_replace(State::Down(format!("no answer within {timeout:?}")));
            }
        }
        failures = failures.saturating_add(1);
        let pause = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Resolves when the connection errors or closes, with the reason.
async fn broken(
    connection: &Connection,
    events: &mut (impl futures_util::Stream<Item = Event> + Unpin),
) -> String {
    // An error raised before the listener existed is not replayed: check the status too.
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    loop {
        let status = connection.status();
        if status.errored() || status.closed() || status.closing() {
            return "the connection closed".into();
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Event::Error(error)) => return error.to_string(),
                Some(_) => {}
                None => return "the connection's event stream ended".into(),
            },
            _ = poll.tick() => {}
        }
    }
}
