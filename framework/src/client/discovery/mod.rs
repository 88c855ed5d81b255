//! Where a downstream's instances are, and which one gets each attempt.
//!
//! - **Static**: `base_url` (one instance; the HTTP client resolves its name per connection)
//!   or the `instances` list.
//! - **DNS** (`discovery = "dns"`): `base_url`'s host is resolved with
//!   [`tokio::net::lookup_host`] before the first call and then every `dns_refresh`; each
//!   address is an instance, reached by a connection to that address while TLS (SNI, certificate
//!   verification) and `Host` use the name, so `https://` works too. This is how a
//!   Kubernetes headless service or ECS service discovery (Cloud Map A records) lists tasks.
//!   A failed lookup keeps the previous list.
//!
//! Each attempt goes to one instance chosen by `balance`: `round-robin`, or `p2c` (two at
//! random, the one with fewer attempts in flight). **Passive outlier ejection**: an instance
//! whose last `ejection.consecutive_failures` attempts all failed (error, 5xx, or cancelled by
//! a timeout) gets no traffic for `ejection.duration`. If every instance is ejected, all are
//! used again: a guess is better than refusing every call.
//!
//! **Retries go elsewhere**: the attempts of one call record the instances they went to
//! ([`Tried`]); a retry prefers an instance the call has not tried, healthy first, then an
//! ejected one (it may be back: in a rolling restart the replacement of an ejected instance
//! listens on its address while the other instance is the one going away), and only then an
//! instance already tried. An ejected instance that answers successfully is taken back at once.

mod balance;
mod dns;
mod endpoint;
mod tried;

pub(crate) use balance::Instances;
pub(crate) use endpoint::Endpoint;
pub(crate) use tried::Tried;

use url::Url;

/// Parses and checks a downstream base URL: `http` or `https`, a host, no query or fragment.
pub(crate) fn parse_base(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("a host is required".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL has no query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials do not belong in the URL: use a token source".into());
    }
    Ok(url)
}
