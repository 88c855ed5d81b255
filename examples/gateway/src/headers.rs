//! What a proxy changes in the headers it passes on: hop-by-hop headers removed (RFC 9110
//! section 7.6.1), `X-Forwarded-*` and `Forwarded` (RFC 7239) added.

use std::net::IpAddr;

use http::header::{CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `Forwarded` (RFC 7239).
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Removes the headers that concern one connection only: `Connection` and every header it
/// names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and `Proxy-*`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    let proxy: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy {
        headers.remove(name);
    }
}

/// Records this hop: appends the client's address to `X-Forwarded-For` and an element to
/// `Forwarded`, and sets `X-Forwarded-Proto` and `X-Forwarded-Host` unless a proxy in front
/// (the ingress) already did.
pub fn add_forwarded(headers: &mut HeaderMap, peer: Option<IpAddr>, proto: &'static str) {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if let Some(ip) = peer {
        append(headers, X_FORWARDED_FOR, &ip.to_string());
    }
    headers
        .entry(X_FORWARDED_PROTO)
        .or_insert(HeaderValue::from_static(proto));
    if let Some(host) = &host
        && let Ok(value) = HeaderValue::from_str(host)
    {
        headers.entry(X_FORWARDED_HOST).or_insert(value);
    }
    let mut element = Vec::new();
    if let Some(ip) = peer {
        element.push(match ip {
            IpAddr::V4(v4) => format!("for={v4}"),
            IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
        });
    }
    if let Some(host) = host.filter(|h| h.bytes().all(is_token_char)) {
        element.push(format!("host={host}"));
    } else if let Some(host) = headers.get(X_FORWARDED_HOST).and_then(|h| h.to_str().ok())
        && !host.contains('"')
    {
        element.push(format!("host=\"{host}\""));
    }
    element.push(format!("proto={proto}"));
    append(headers, FORWARDED, &element.join(";"));
}

/// RFC 9110 `tchar`: a value made of these needs no quotes in `Forwarded` (a host with a
/// port does).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Appends `value` to a comma-separated list header.
fn append(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}, {value}"),
        _ => value.to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_go() {
        let mut h = HeaderMap::new();
        h.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert(TE, HeaderValue::from_static("trailers"));
        h.insert("proxy-authorization", HeaderValue::from_static("Basic x"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn forwarded_headers_append_to_earlier_hops() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("api.example.org:8443"));
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.7"));
        add_forwarded(&mut h, Some("::1".parse().unwrap()), "http");
        assert_eq!(h[X_FORWARDED_FOR], "203.0.113.7, ::1");
        assert_eq!(h[X_FORWARDED_PROTO], "http");
        assert_eq!(h[X_FORWARDED_HOST], "api.example.org:8443");
        assert_eq!(
            h[FORWARDED],
            "for=\"[::1]\";host=\"api.example.org:8443\";proto=http"
        );
    }
}
