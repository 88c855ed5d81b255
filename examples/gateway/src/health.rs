//! Aggregated readiness: one check per upstream, reported in the gateway's `/health/ready`.

use servicekit::client::ServiceClient;
use servicekit::health::{CheckFuture, HealthCheck};

/// The readiness path asked of each upstream.
pub const UPSTREAM_READY_PATH: &str = "/health/ready";

/// `GET /health/ready` on one upstream, reported under the upstream's name.
///
/// Optional: a down upstream shows as `warn` with its reason, and the gateway stays ready,
/// because it still serves every other route (an orchestrator that took the gateway out
/// would cut them all). Its own answers for that route are then 503 problem+json.
#[derive(Debug)]
pub struct UpstreamCheck {
    client: ServiceClient,
}

impl UpstreamCheck {
    /// A check of `client`'s upstream.
    pub fn new(client: ServiceClient) -> Self {
        Self { client }
    }
}

impl HealthCheck for UpstreamCheck {
    fn name(&self) -> &str {
        self.client.name()
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let res = self
                .client
                .get(UPSTREAM_READY_PATH)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(format!(
                    "{UPSTREAM_READY_PATH} answered {}",
                    res.status().as_u16()
                ))
            }
        })
    }

    fn required(&self) -> bool {
        false
    }
}
