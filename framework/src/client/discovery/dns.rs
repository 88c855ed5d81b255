//! DNS discovery: resolve the base URL's host now and then, one instance per address.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use url::Url;

use super::balance::Instances;
use super::endpoint::{Endpoint, Pinned};
use crate::client::transport::HttpSettings;

/// The name to resolve, and how to reach each of its addresses.
///
/// Each address is an instance identified by the URL with the address in it, but called with
/// the URL with the name, through a client pinned to the address (reqwest's `resolve`): the
/// connection goes to that address while TLS (SNI, certificate verification) and `Host` use
/// the name, so `https://` base URLs work with DNS discovery.
#[derive(Debug)]
pub(crate) struct DnsTarget {
    url: Url,
    host: String,
    port: u16,
    http: HttpSettings,
}

impl DnsTarget {
    pub(crate) fn new(url: Url, http: HttpSettings) -> Result<Self, String> {
        let host = url.host_str().ok_or("a host is required")?.to_string();
        let port = url
            .port_or_known_default()
            .ok_or("the URL has no port and its scheme no default")?;
        Ok(Self {
            url,
            host,
            port,
            http,
        })
    }

    /// A new instance for `addr`: identified by the address, reached by the name.
    fn endpoint(&self, id: Url, addr: SocketAddr) -> Option<Arc<Endpoint>> {
        // The name as the TLS and HTTP layers see it (an IPv6 literal without brackets).
        let name = self.host.trim_start_matches('[').trim_end_matches(']');
        match self.http.client(Some((name, addr))) {
            Ok(http) => Some(Arc::new(Endpoint::new(
                id,
                Some(Pinned {
                    named: self.url.clone(),
                    http,
                }),
            ))),
            Err(e) => {
                tracing::warn!(host = %self.host, %addr, error = %e, "cannot build a client for a DNS instance");
                None
            }
        }
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
                match old.iter().find(|e| e.base() == &url) {
                    Some(kept) => Some(kept.clone()),
                    None => self.endpoint(url, addr),
                }
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
