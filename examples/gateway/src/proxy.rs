//! The handler behind every route: choose the upstream and its version, forward, stream back.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::Request;
use http::header::SET_COOKIE;
use servicekit::auth::Principal;

use crate::error::{no_route, upstream_problem};
use crate::headers::{X_FORWARDED_FOR, add_forwarded, strip_hop_by_hop};
use crate::release::choose;
use crate::table::RouteTable;

/// What the proxy handler shares: the current route table and the scheme it serves.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The table; a reload swaps it whole.
    pub table: Arc<ArcSwap<RouteTable>>,
    /// `https` when the gateway terminates TLS, else `http` (for `X-Forwarded-Proto`).
    pub proto: &'static str,
}

/// Forwards `req` to the upstream its path routes to.
///
/// The table is loaded once per request: a reload while the request is in flight does not
/// change where it goes, and the old table lives until its last request ends.
pub async fn forward(State(proxy): State<Proxy>, mut req: Request<Body>) -> Response {
    let table = proxy.table.load_full();
    let Some(route) = table.route(req.uri().path()) else {
        return no_route(req.uri().path()).into_response();
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let choice = choose(&route.upstream, req.headers(), || client_key(&req, peer));
    tracing::debug!(upstream = %route.upstream.name, version = ?choice.version, "routing");
    strip_hop_by_hop(req.headers_mut());
    add_forwarded(req.headers_mut(), peer, proxy.proto);
    match choice.client.forward(req).await {
        Ok(mut res) => {
            strip_hop_by_hop(res.headers_mut());
            if let Some(cookie) = choice.set_cookie {
                res.headers_mut().append(SET_COOKIE, cookie);
            }
            res
        }
        Err(e) => upstream_problem(e).into_response(),
    }
}

/// The key of `sticky = "client"`: the verified token's subject, else the original client's
/// address (the first `X-Forwarded-For` entry, set by an ingress in front), else the peer's.
fn client_key(req: &Request<Body>, peer: Option<std::net::IpAddr>) -> String {
    if let Some(subject) = req
        .extensions()
        .get::<Principal>()
        .and_then(Principal::subject)
    {
        return format!("sub:{subject}");
    }
    let forwarded = req
        .headers()
        .get(X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match (forwarded, peer) {
        (Some(first), _) => format!("ip:{first}"),
        (None, Some(ip)) => format!("ip:{ip}"),
        (None, None) => String::new(),
    }
}
