//! The instance list of one client and the choice of an instance per attempt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::dns::DnsTarget;
use super::endpoint::{Ejection, Endpoint};
use super::parse_base;
use super::tried::Tried;
use crate::client::config::{Balance, ClientConfig, Discovery};
use crate::client::transport::HttpSettings;

/// The current instances of a downstream; DNS discovery replaces the list in place.
#[derive(Debug)]
pub(crate) struct Instances {
    list: RwLock<Arc<Vec<Arc<Endpoint>>>>,
    balance: Balance,
    next: AtomicUsize,
    ejection: Ejection,
    dns: Option<DnsTarget>,
}

impl Instances {
    /// The instances of a validated configuration; with DNS discovery the list starts empty
    /// and a refresh task is started when a tokio runtime is running.
    pub(crate) fn from_config(
        name: Arc<str>,
        config: &ClientConfig,
        http: &HttpSettings,
    ) -> Result<Arc<Self>, String> {
        let ejection = Ejection {
            name,
            after: config.ejection.consecutive_failures,
            duration: config.ejection.duration,
        };
        let (list, dns) = match (config.discovery, &config.base_url) {
            (Discovery::Dns, Some(url)) => (
                Vec::new(),
                Some(DnsTarget::new(parse_base(url)?, http.clone())?),
            ),
            (_, Some(url)) if config.instances.is_empty() => {
                (vec![Arc::new(Endpoint::new(parse_base(url)?, None))], None)
            }
            _ => {
                let list = config
                    .instances
                    .iter()
                    .map(|u| parse_base(u).map(|url| Arc::new(Endpoint::new(url, None))))
                    .collect::<Result<Vec<_>, _>>()?;
                (list, None)
            }
        };
        let instances = Arc::new(Self {
            list: RwLock::new(Arc::new(list)),
            balance: config.balance,
            next: AtomicUsize::new(0),
            ejection,
            dns,
        });
        if instances.dns.is_some() {
            super::dns::spawn_refresh(&instances, config.dns_refresh);
        }
        Ok(instances)
    }

    pub(crate) fn ejection(&self) -> &Ejection {
        &self.ejection
    }

    pub(crate) fn dns(&self) -> Option<&DnsTarget> {
        self.dns.as_ref()
    }

    pub(crate) fn snapshot(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.list.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn replace(&self, list: Vec<Arc<Endpoint>>) {
        *self.list.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(list);
    }

    /// The instance for the next attempt, avoiding those the call has `tried`; resolves DNS
    /// first if nothing is known yet.
    pub(crate) async fn pick(&self, tried: Option<&Tried>) -> Option<Arc<Endpoint>> {
        if let Some(found) = self.choose(tried) {
            return Some(found);
        }
        if let Some(dns) = &self.dns {
            dns.refresh(self).await;
        }
        self.choose(tried)
    }

    fn choose(&self, tried: Option<&Tried>) -> Option<Arc<Endpoint>> {
        let list = self.snapshot();
        match list.len() {
            0 => return None,
            1 => return Some(list[0].clone()),
            _ => {}
        }
        let now = Instant::now();
        // Instances this call has not tried yet, else all; of those the healthy ones, else
        // all of those (an ejected instance may be back, and a guess beats refusing the call).
        let untried: Vec<&Arc<Endpoint>> = list
            .iter()
            .filter(|e| tried.is_none_or(|t| !t.contains(e.base())))
            .collect();
        let pool = if untried.is_empty() {
            list.iter().collect()
        } else {
            untried
        };
        let ejected = |e: &&Arc<Endpoint>| e.is_ejected(now);
        let healthy: Vec<&Arc<Endpoint>> = pool.iter().copied().filter(|e| !ejected(e)).collect();
        let healthy = if healthy.is_empty() { pool } else { healthy };
        let chosen = match self.balance {
            Balance::RoundRobin => {
                healthy[self.next.fetch_add(1, Ordering::Relaxed) % healthy.len()]
            }
            Balance::P2c if healthy.len() == 1 => healthy[0],
            Balance::P2c => {
                let a = fastrand::usize(..healthy.len());
                let mut b = fastrand::usize(..healthy.len() - 1);
                if b >= a {
                    b += 1;
                }
                if healthy[b].in_flight() < healthy[a].in_flight() {
                    healthy[b]
                } else {
                    healthy[a]
                }
            }
        };
        Some(chosen.clone())
    }
}
