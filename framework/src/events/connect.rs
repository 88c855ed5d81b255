//! `events.url` to an adapter, by scheme.

use super::transport::{Connect, SharedTransport, TransportError};

/// Connects the adapter `settings.url` names. Validation made sure the scheme is known and its
/// feature compiled in; this still refuses anything else.
pub(crate) async fn connect(settings: &Connect) -> Result<SharedTransport, TransportError> {
    use secrecy::ExposeSecret;
    let broker = super::config::broker_of(settings.url.expose_secret()).map(|(b, ..)| b);
    match broker {
        #[cfg(feature = "events-nats")]
        Some("nats") => super::nats::connect(settings).await,
        #[cfg(feature = "events-amqp")]
        Some("amqp") => super::amqp::connect(settings).await,
        #[cfg(feature = "events-aws")]
        Some("aws") => super::aws::connect(settings).await,
        _ => Err(TransportError::Refused(
            "events.url names a broker whose adapter this build leaves out".into(),
        )),
    }
}
