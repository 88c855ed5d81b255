//! Which request bodies can be sent more than once.

use bytes::Bytes;

/// A request body the [`Retry`](super::Retry) layer can send again for another attempt.
///
/// A buffered body ([`Bytes`]) is reference-counted and always replays. A streamed body
/// ([`axum::body::Body`], as [`ServiceClient::forward`](crate::client::ServiceClient::forward)
/// sends) is read as it is sent, so it replays only when it is empty: a streamed upload is
/// never retried.
pub trait ReplayBody: Sized {
    /// A copy for another attempt, or `None` when this body can be sent only once.
    fn replay(&self) -> Option<Self>;
}

impl ReplayBody for Bytes {
    fn replay(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl ReplayBody for axum::body::Body {
    fn replay(&self) -> Option<Self> {
        axum::body::HttpBody::is_end_stream(self).then(axum::body::Body::empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_replay_and_only_empty_streams_do() {
        assert_eq!(
            Bytes::from_static(b"x").replay().as_deref(),
            Some(&b"x"[..])
        );
        assert!(axum::body::Body::empty().replay().is_some());
        assert!(axum::body::Body::from("a body").replay().is_none());
    }
}
