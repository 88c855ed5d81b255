//! Which version of an upstream serves a request: weights, stickiness, `x-canary`.

use http::header::{COOKIE, HeaderValue};
use http::{HeaderMap, HeaderName};
use servicekit::client::ServiceClient;

use crate::settings::Sticky;
use crate::table::{Release, Upstream};

/// The header that forces a version: `always` (the canary) or `never` (the stable one).
pub const CANARY_HEADER: HeaderName = HeaderName::from_static("x-canary");

/// The prefix of the cookie that keeps a client's version with `sticky = "cookie"`; the
/// upstream's name follows (`gw-release-student-service=canary`).
pub const COOKIE_PREFIX: &str = "gw-release-";

/// One of the two versions of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The upstream's own client.
    Stable,
    /// The release's canary.
    Canary,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stable => "stable",
            Self::Canary => "canary",
        }
    }
}

/// The version chosen for one request, and the cookie to set to keep it.
#[derive(Debug)]
pub struct Choice {
    /// The client to forward to.
    pub client: ServiceClient,
    /// Which version it is.
    pub version: Version,
    /// A `Set-Cookie` value for the answer, when the client is to keep this version.
    pub set_cookie: Option<HeaderValue>,
}

/// Chooses the version of `upstream` for a request with `headers`; `client_key` gives the
/// caller's key (token subject or address) for `sticky = "client"`.
pub fn choose(
    upstream: &Upstream,
    headers: &HeaderMap,
    client_key: impl FnOnce() -> String,
) -> Choice {
    let Some(release) = &upstream.release else {
        return stable(upstream);
    };
    let forced = headers
        .get(CANARY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let (version, set_cookie) = match forced {
        Some(v) if v.eq_ignore_ascii_case("always") => (Version::Canary, None),
        Some(v) if v.eq_ignore_ascii_case("never") => (Version::Stable, None),
        _ => by_weight(release, &upstream.name, headers, client_key),
    };
    let client = match version {
        Version::Stable => upstream.stable.clone(),
        Version::Canary => release.canary.clone(),
    };
    Choice {
        client,
        version,
        set_cookie,
    }
}

fn stable(upstream: &Upstream) -> Choice {
    Choice {
        client: upstream.stable.clone(),
        version: Version::Stable,
        set_cookie: None,
    }
}

fn by_weight(
    release: &Release,
    upstream: &str,
    headers: &HeaderMap,
    client_key: impl FnOnce() -> String,
) -> (Version, Option<HeaderValue>) {
    // 0 and 100 decide alone: a finished switch moves every client, cookie or not.
    match release.weight {
        0 => return (Version::Stable, None),
        100.. => return (Version::Canary, None),
        _ => {}
    }
    let draw = |bucket: u8| {
        if bucket < release.weight {
            Version::Canary
        } else {
            Version::Stable
        }
    };
    match release.sticky {
        Sticky::None => (draw(fastrand::u8(0..100)), None),
        Sticky::Client => (draw(bucket(&client_key())), None),
        Sticky::Cookie => {
            let name = format!("{COOKIE_PREFIX}{upstream}");
            match cookie(headers, &name) {
                Some("canary") => (Version::Canary, None),
                Some("stable") => (Version::Stable, None),
                _ => {
                    let version = draw(fastrand::u8(0..100));
                    let value = format!(
                        "{name}={}; Path=/; HttpOnly; SameSite=Lax",
                        version.as_str()
                    );
                    (version, HeaderValue::from_str(&value).ok())
                }
            }
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A bucket in `0..100` for `key`: FNV-1a, so that every gateway replica and build agrees.
fn bucket(key: &str) -> u8 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    u8::try_from(hash % 100).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("alice"), bucket("alice"));
        let spread: std::collections::HashSet<u8> =
            (0..1000).map(|i| bucket(&format!("client-{i}"))).collect();
        assert!(spread.len() > 90, "{}", spread.len());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; gw-release-x=canary ; b=2"),
        );
        assert_eq!(cookie(&h, "gw-release-x"), Some("canary"));
        assert_eq!(cookie(&h, "gw-release-y"), None);
    }
}
