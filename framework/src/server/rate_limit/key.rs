//! Which bucket a request counts against: the client's key.

use std::hash::BuildHasher as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, Request};

use super::config::{KeyKind, RateLimitConfig, parse_net};
use crate::auth::Principal;

/// `X-Forwarded-For`, read only when the peer is a trusted proxy.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The identity a bucket belongs to. Kinds never share a bucket: a subject named like an IP
/// address is still a different client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// An IP address.
    Ip(IpAddr),
    /// A verified token's `sub`.
    Subject(Arc<str>),
    /// A verified token's `client_id` / `azp`.
    ClientId(Arc<str>),
    /// A keyed hash of an API key (the key itself is never stored).
    ApiKey(u64),
    /// No address is known (the router is not served with connect info, e.g. in `oneshot`
    /// tests): all such requests share one bucket.
    Unknown,
}

/// Extracts the [`ClientKey`] of requests as `[rate_limit]` says.
#[derive(Debug, Clone)]
pub(crate) struct KeyExtractor {
    kind: KeyKind,
    api_key_header: HeaderName,
    trusted_proxies: Vec<ipnet::IpNet>,
    hasher: ApiKeyHasher,
}

/// How API keys are hashed: with a per-process seed for buckets in this process, alike in
/// every replica for buckets in Redis.
#[derive(Debug, Clone)]
enum ApiKeyHasher {
    PerProcess(std::hash::RandomState),
    #[cfg(feature = "cache")]
    Shared,
}

impl ApiKeyHasher {
    fn hash(&self, api_key: &[u8]) -> u64 {
        match self {
            Self::PerProcess(state) => state.hash_one(api_key),
            #[cfg(feature = "cache")]
            Self::Shared => super::redis_store::shared_api_key_hash(api_key),
        }
    }
}

impl KeyExtractor {
    /// From a validated configuration (invalid entries are skipped).
    pub(crate) fn new(config: &RateLimitConfig) -> Self {
        Self {
            kind: config.key,
            api_key_header: HeaderName::from_bytes(config.api_key_header.as_bytes())
                .unwrap_or_else(|_| HeaderName::from_static("x-api-key")),
            trusted_proxies: config
                .trusted_proxies
                .iter()
                .filter_map(|p| parse_net(p))
                .collect(),
            hasher: match config.store {
                #[cfg(feature = "cache")]
                super::StoreKind::Redis => ApiKeyHasher::Shared,
                _ => ApiKeyHasher::PerProcess(std::hash::RandomState::new()),
            },
        }
    }

    /// The key of `req`; falls back to the client IP when the configured identity is absent.
    pub(crate) fn key<B>(&self, req: &Request<B>) -> ClientKey {
        let principal = || req.extensions().get::<Principal>();
        let found = match self.kind {
            KeyKind::Ip => None,
            KeyKind::Subject => principal()
                .and_then(Principal::subject)
                .map(|s| ClientKey::Subject(s.into())),
            KeyKind::ClientId => principal()
                .and_then(Principal::client_id)
                .map(|c| ClientKey::ClientId(c.into())),
            KeyKind::ApiKey => req
                .headers()
                .get(&self.api_key_header)
                .filter(|v| !v.is_empty())
                .map(|v| ClientKey::ApiKey(self.hasher.hash(v.as_bytes()))),
        };
        found.unwrap_or_else(|| {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            match peer {
                Some(peer) => ClientKey::Ip(self.client_ip(peer, req.headers())),
                None => ClientKey::Unknown,
            }
        })
    }

    /// The client's address: the peer, unless the peer is a trusted proxy, in which case the
    /// rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries to its left were
    /// written by the client and prove nothing).
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.is_trusted(client) {
            return client;
        }
        let hops = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.is_trusted(ip) {
                        break;
                    }
                }
                // An entry that is no address: the trusted hop that passed it on is the best
                // we know.
                None => break,
            }
        }
        client
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use serde_json::json;

    use super::*;

    fn extractor(config: serde_json::Value) -> KeyExtractor {
        KeyExtractor::new(&serde_json::from_value(config).unwrap())
    }

    fn request(peer: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
        let mut b = Request::get("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.body(Body::empty()).unwrap();
        if let Some(peer) = peer {
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
        }
        req
    }

    fn ip(s: &str) -> ClientKey {
        ClientKey::Ip(s.parse().unwrap())
    }

    #[test]
    fn ip_key_ignores_forwarded_for_without_trusted_proxies() {
        let x = extractor(json!({"key": "ip"}));
        let req = request(Some("10.0.0.5:4000"), &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(x.key(&req), ip("10.0.0.5"));
        assert_eq!(x.key(&request(None, &[])), ClientKey::Unknown);
    }

    #[test]
    fn trusted_proxies_yield_the_nearest_untrusted_hop() {
        let x = extractor(json!({"key": "ip", "trusted_proxies": ["10.0.0.0/8", "192.168.1.1"]}));
        // The client forged 6.6.6.6; the load balancer appended the real 1.2.3.4.
        let req = request(
            Some("10.0.0.5:4000"),
            &[
                ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
                ("x-forwarded-for", "192.168.1.1"),
            ],
        );
        assert_eq!(x.key(&req), ip("1.2.3.4"));
        // An untrusted peer's header is ignored.
        let req = request(Some("8.8.8.8:1"), &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(x.key(&req), ip("8.8.8.8"));
        // Garbage stops the walk at the trusted hop that passed it on.
        let req = request(
            Some("10.0.0.5:1"),
            &[("x-forwarded-for", "nonsense, 10.1.1.1")],
        );
        assert_eq!(x.key(&req), ip("10.1.1.1"));
        // Ports and IPv4-mapped IPv6 addresses are understood.
        let req = request(
            Some("[::ffff:10.0.0.5]:1"),
            &[("x-forwarded-for", "[2001:db8::1]:443")],
        );
        assert_eq!(x.key(&req), ip("2001:db8::1"));
    }

    #[test]
    fn subject_and_client_id_come_from_the_verified_principal_only() {
        let x = extractor(json!({"key": "subject"}));
        // A forged token in the header does not matter: there is no principal, so the IP counts.
        let forged = request(
            Some("1.2.3.4:1"),
            &[("authorization", "Bearer eyJzdWIiOiJ4In0")],
        );
        assert_eq!(x.key(&forged), ip("1.2.3.4"));
        let mut req = request(Some("1.2.3.4:1"), &[]);
        req.extensions_mut().insert(Principal::from_claims(
            json!({"sub": "ada", "client_id": "web"}),
        ));
        assert_eq!(x.key(&req), ClientKey::Subject("ada".into()));
        let x = extractor(json!({"key": "client_id"}));
        assert_eq!(x.key(&req), ClientKey::ClientId("web".into()));
    }

    #[test]
    fn api_keys_are_hashed_and_distinct() {
        let x = extractor(json!({"key": "api_key", "api_key_header": "x-key"}));
        let a = x.key(&request(Some("1.2.3.4:1"), &[("x-key", "alpha")]));
        let b = x.key(&request(Some("1.2.3.4:1"), &[("x-key", "beta")]));
        assert!(matches!(a, ClientKey::ApiKey(_)));
        assert_ne!(a, b);
        assert_eq!(a, x.key(&request(Some("9.9.9.9:1"), &[("x-key", "alpha")])));
        assert_eq!(x.key(&request(Some("1.2.3.4:1"), &[])), ip("1.2.3.4"));
        // In-process buckets: another extractor (another replica) hashes with another seed.
        let y = extractor(json!({"key": "api_key", "api_key_header": "x-key"}));
        assert_ne!(a, y.key(&request(Some("1.2.3.4:1"), &[("x-key", "alpha")])));
    }

    #[cfg(feature = "cache")]
    #[test]
    fn api_keys_hash_alike_in_every_replica_for_the_redis_store() {
        let config = json!({"key": "api_key", "store": "redis"});
        let (x, y) = (extractor(config.clone()), extractor(config));
        let req = request(Some("1.2.3.4:1"), &[("x-api-key", "alpha")]);
        assert_eq!(x.key(&req), y.key(&req));
        assert_ne!(
            x.key(&req),
            x.key(&request(Some("1.2.3.4:1"), &[("x-api-key", "beta")]))
        );
    }
}
