//! lapin errors mapped onto [`TransportError`]: a channel-level refusal from the broker
//! (missing exchange, conflicting queue arguments, access refused) is `Refused`; anything about
//! the connection (I/O, closed channel, timeout, connection-level close) is `Unavailable`, so
//! the runtime retries it.

use lapin::types::ShortString;

use crate::events::transport::TransportError;

/// Maps a lapin error.
pub(super) fn classify(error: lapin::Error) -> TransportError {
    if error.is_amqp_soft_error() {
        TransportError::Refused(Box::new(error))
    } else {
        TransportError::Unavailable(Box::new(error))
    }
}

/// `Unavailable` with a message.
pub(super) fn unavailable(message: impl Into<String>) -> TransportError {
    TransportError::Unavailable(message.into().into())
}

/// `Refused` with a message.
pub(super) fn refused(message: impl Into<String>) -> TransportError {
    TransportError::Refused(message.into().into())
}

/// An AMQP short string (a name, a routing key): at most 255 bytes, else `Refused`.
pub(super) fn short(value: &str, what: &str) -> Result<ShortString, TransportError> {
    ShortString::try_new(value).map_err(|_| {
        refused(format!(
            "the {what} `{value}` is longer than AMQP's 255 bytes: use a shorter events.prefix, \
             service name or event type"
        ))
    })
}

/// Runs one broker round trip, bounded by `timeout` (`Unavailable` when it runs out).
pub(super) async fn within<T>(
    timeout: std::time::Duration,
    what: &str,
    operation: impl Future<Output = lapin::Result<T>>,
) -> Result<T, TransportError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(outcome) => outcome.map_err(classify),
        Err(_) => Err(unavailable(format!(
            "RabbitMQ did not answer {what} within {timeout:?}"
        ))),
    }
}
