//! The one question subject-service asks student-service: does this student exist?

use servicekit::prelude::*;
use uuid::Uuid;

/// student-service, seen through the resilient client of `[clients.student-service]` (with a
/// service token or the caller's token attached by [`app`](crate::app)).
#[derive(Debug, Clone)]
pub struct Students {
    client: ServiceClient,
}

impl Students {
    /// Wraps the configured client.
    pub fn new(client: ServiceClient) -> Self {
        Self { client }
    }

    /// The client, e.g. to report its breaker state.
    pub fn client(&self) -> &ServiceClient {
        &self.client
    }

    /// Whether student `id` exists: `GET /students/{id}` answering 200 or 404. Any other
    /// outcome is an error (an unavailable student-service becomes a 503 problem).
    ///
    /// Called while handling a request, the call carries that request's id, remaining
    /// deadline, trace context and (with `forward_authorization`) `Authorization` by itself.
    pub async fn exists(&self, id: Uuid) -> Result<bool, ClientError> {
        let res = self.client.get(format!("/students/{id}")).send().await?;
        if res.status() == 404 {
            return Ok(false);
        }
        res.error_for_status().map(|_| true)
    }
}
