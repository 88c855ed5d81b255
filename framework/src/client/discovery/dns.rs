//! DNS discovery: resolve the base URL's host now and then, one instance per address.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http::HeaderValue;
use url::Url;

use super::balance::Instances;
use super::endpoint::Endpoint;

/// The name to resolve and the URL to rewrite per address.
#[derive(Debug)]
pub(crate) struct DnsTarget {
    url: Url,
    host: String,
    port: u16,
    host_header: HeaderValue,
}

impl DnsTarget {
    pub(crate) fn new(url: Url) -> Result<Self, String> {
        let host = url.host_str().ok_or("a host is required")?.to_string();
        let port = url
            .port_or_known_default()
            .ok_or("the URL has no port and its scheme no default")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let host_header = HeaderValue::from_str(&authority).map_err(|e| e.to_string())?;
        Ok(Self {
            url,
            host,
            port,
            host_header,
        })
    }

    /// Resolves once and updates `instances`, keeping the state of addresses still listed.
    pub(crate) async fn refresh(&self, instances: &Instances) {
        let addrs: BTreeSet<SocketAddr> =
            match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    tracing::warn!(
                        client = %instances.ejection().name,
                        host = %self.host,
                        error = %e,
                        "DNS lookup failed; keeping the previous instances"
                    );
                    return;
                }
            };
        let old = instances.snapshot();
        let list = addrs
            .into_iter()
            .filter_map(|addr| {
                let mut url = self.url.clone();
                url.set_ip_host(addr.ip()).ok()?;
                url.set_port(Some(addr.port())).ok()?;
                let kept = old.iter().find(|e| e.base() == &url).cloned();
                Some(kept.unwrap_or_else(|| {
                    Arc::new(Endpoint::new(url, Some(self.host_header.clone())))
                }))
            })
            .collect::<Vec<_>>();
        if list.is_empty() {
            return;
        }
        tracing::debug!(
            client = %instances.ejection().name,
            host = %self.host,
            instances = list.len(),
            "DNS instances refreshed"
        );
        instances.replace(list);
    }
}

/// Re-resolves every `every` for as long as the client exists (when a runtime is running;
/// otherwise lookups happen only when the list is empty).
pub(crate) fn spawn_refresh(instances: &Arc<Instances>, every: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak: Weak<Instances> = Arc::downgrade(instances);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(instances) = weak.upgrade() else {
                return;
            };
            if let Some(dns) = instances.dns() {
                dns.refresh(&instances).await;
            }
        }
    });
}
