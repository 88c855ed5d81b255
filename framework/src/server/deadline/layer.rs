use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tower::Layer;

use super::RequestDeadline;
use crate::server::ServerConfig;

/// Layer that bounds every request by the server's own timeout and, from trusted callers,
/// by the caller's [`DEADLINE_HEADER`](super::DEADLINE_HEADER); see the [module
/// docs](crate::server::Deadline) for what each outcome answers.
///
/// A caller's deadline is honoured only when the peer address is in
/// [`trust_networks`](Self::trust_networks), or (with
/// [`trust_service_tokens`](Self::trust_service_tokens), on by default) once an
/// [`AuthLayer`](crate::auth::AuthLayer) further in verified a service token
/// ([`Principal::is_service`](crate::auth::Principal::is_service)). From anyone else the header
/// is removed and ignored. A trusted deadline is capped by the timeout.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use servicekit::server::RequestDeadlineLayer;
///
/// let layer = RequestDeadlineLayer::new(Duration::from_secs(30))
///     .trust_networks(["10.0.0.0/8".parse().unwrap()]);
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(layer);
/// ```
#[derive(Debug, Clone)]
pub struct RequestDeadlineLayer {
    policy: Arc<Policy>,
}

/// What a [`RequestDeadlineLayer`] enforces and whom it trusts.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// The server's own limit for every request.
    pub(crate) timeout: Duration,
    /// Peers whose deadline header is honoured as sent.
    pub(super) networks: Vec<IpNet>,
    /// Whether a verified service token makes the deadline header trusted.
    pub(super) service_tokens: bool,
}

impl Policy {
    /// The server's `timeout`, no trusted network, verified service tokens trusted.
    pub(super) fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            networks: Vec::new(),
            service_tokens: true,
        }
    }

    /// Whether `peer` is in a trusted network (an IPv4-mapped IPv6 address counts as IPv4).
    pub(super) fn trusts(&self, peer: &std::net::SocketAddr) -> bool {
        let ip = peer.ip().to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }
}

impl RequestDeadlineLayer {
    /// A layer answering requests still running after `timeout`, trusting no network and
    /// verified service tokens.
    pub fn new(timeout: Duration) -> Self {
        Self {
            policy: Arc::new(Policy::new(timeout)),
        }
    }

    /// The layer `[server]` configures: `request_timeout`, `deadline_trusted_networks` and
    /// `deadline_trust_service_tokens` (entries that are not addresses or CIDR ranges, which
    /// configuration loading rejects, are skipped).
    pub fn from_config(config: &ServerConfig) -> Self {
        Self::new(config.request_timeout)
            .trust_networks(
                config
                    .deadline_trusted_networks
                    .iter()
                    .filter_map(|n| crate::server::rate_limit::parse_net(n)),
            )
            .trust_service_tokens(config.deadline_trust_service_tokens)
    }

    /// Also honours the deadline header of peers in `networks` (replacing earlier ones).
    #[must_use]
    pub fn trust_networks(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        Arc::make_mut(&mut self.policy).networks = networks.into_iter().collect();
        self
    }

    /// Whether a verified service token makes the caller's deadline trusted (default `true`).
    #[must_use]
    pub fn trust_service_tokens(mut self, trust: bool) -> Self {
        Arc::make_mut(&mut self.policy).service_tokens = trust;
        self
    }
}

impl RequestDeadlineLayer {
    /// What this layer enforces, for the standard stack's guard that applies it itself.
    pub(crate) fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }
}

impl<S> Layer<S> for RequestDeadlineLayer {
    type Service = RequestDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestDeadline::with_policy(inner, self.policy.clone())
    }
}
