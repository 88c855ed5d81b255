//! The answer to a call, read whole.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::ClientError;

/// A downstream's answer, body included (it was read within the attempt timeout).
#[derive(Debug, Clone)]
pub struct ClientResponse {
    client: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl ClientResponse {
    pub(crate) fn new(client: &str, res: Response<Bytes>) -> Self {
        let (parts, body) = res.into_parts();
        Self {
            client: client.to_string(),
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::Decode {
            client: self.client.clone(),
            source,
        })
    }

    /// `Err(ClientError::Status)` for a 4xx or 5xx answer, the answer itself otherwise.
    pub fn error_for_status(self) -> Result<Self, ClientError> {
        if self.status.is_client_error() || self.status.is_server_error() {
            return Err(ClientError::Status {
                client: self.client,
                status: self.status,
            });
        }
        Ok(self)
    }
}
