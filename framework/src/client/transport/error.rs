use std::fmt;

use crate::BoxError;

/// One attempt could not be sent or its answer not read.
#[derive(Debug)]
pub struct TransportError {
    kind: Kind,
    source: Option<BoxError>,
}

/// The answer's body was larger than `clients.<client>.max_response_bytes`.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the answer's body is larger than clients.{client}.max_response_bytes ({limit} bytes); \
     raise that key if such answers are expected"
)]
pub(crate) struct ResponseTooLarge {
    client: String,
    limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoInstance,
    Connect,
    Send,
    Body,
    Url,
    TooLarge,
}

impl TransportError {
    pub(crate) fn no_instance() -> Self {
        Self {
            kind: Kind::NoInstance,
            source: None,
        }
    }

    pub(crate) fn url(source: url::ParseError) -> Self {
        Self {
            kind: Kind::Url,
            source: Some(source.into()),
        }
    }

    pub(crate) fn send(source: reqwest::Error) -> Self {
        let kind = if source.is_connect() {
            Kind::Connect
        } else {
            Kind::Send
        };
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    pub(crate) fn too_large(client: &str, limit: u64) -> Self {
        Self {
            kind: Kind::TooLarge,
            source: Some(Box::new(ResponseTooLarge {
                client: client.to_string(),
                limit,
            })),
        }
    }

    /// The limit an oversized answer exceeded.
    pub(crate) fn too_large_limit(&self) -> Option<u64> {
        self.source
            .as_ref()
            .and_then(|e| e.downcast_ref::<ResponseTooLarge>())
            .map(|e| e.limit)
    }

    pub(crate) fn body(source: reqwest::Error) -> Self {
        Self {
            kind: Kind::Body,
            source: Some(source.into()),
        }
    }

    /// No connection could be made (or no instance was known): the request was not sent.
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::NoInstance)
    }

    /// Another attempt may succeed (everything but a malformed URL or an oversized answer).
    pub fn is_retryable(&self) -> bool {
        !matches!(self.kind, Kind::Url | Kind::TooLarge)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::NoInstance => "no instance is known",
            Kind::Connect => "connection failed",
            Kind::Send => "sending the request failed",
            Kind::Body => "reading the answer failed",
            Kind::Url => "invalid request URL",
            Kind::TooLarge => "the answer is too large",
        })
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
