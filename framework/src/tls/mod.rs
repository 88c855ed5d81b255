//! TLS and mutual TLS on the main listener (feature `tls`), with rustls on aws-lc-rs.
//!
//! - [`TlsConfig`] (`[server.tls]`): certificate, key, optional client CA (mutual TLS),
//!   minimum version; ALPN offers h2 and http/1.1. Broken files stop startup naming the key.
//! - Reload: certificate, key and client CA files are polled, and secret references behind
//!   them followed, then swapped in; new handshakes use the new material, open connections
//!   are kept.
//! - `ServiceClient` (`[clients.<name>.tls]`): with this feature its client certificate is
//!   re-read when the files change, at the next handshake.
//! - [`PeerIdentity`]: the verified client certificate's SAN URIs (SPIFFE IDs) and DNS names,
//!   in each request's extensions and as an extractor; [`require_peer`] allows named peers.
//!
//! The admin port (`server.admin_port`) always stays plain HTTP, so kubelet and load balancer
//! health checks need no client certificate. See `docs/tls.md`.
//!
//! rustls was chosen over OpenSSL because it is already in the tree (reqwest, sqlx) with the
//! same aws-lc-rs provider, so TLS adds no second crypto library.

#[cfg(feature = "tls")]
mod client;
mod config;
#[cfg(feature = "tls")]
mod peer;
#[cfg(feature = "tls")]
mod reload;
#[cfg(feature = "tls")]
mod require_peer;
#[cfg(feature = "tls")]
mod server;
#[cfg(feature = "tls")]
mod source;

#[cfg(feature = "tls")]
pub(crate) use client::client_config;
pub(crate) use config::validate;
pub use config::{TlsConfig, TlsVersion};
#[cfg(feature = "tls")]
pub use peer::PeerIdentity;
#[cfg(feature = "tls")]
pub use require_peer::{RequirePeer, RequirePeerLayer, require_peer};
#[cfg(feature = "tls")]
pub(crate) use server::ServerTls;

/// Without the `tls` feature there is never a TLS listener (validation refuses `[server.tls]`),
/// so this stand-in is never built; it keeps the accept loop free of feature gates.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
#[allow(dead_code)]
pub(crate) struct ServerTls(());

#[cfg(not(feature = "tls"))]
impl ServerTls {
    pub(crate) fn start(
        _: &crate::server::ServerConfig,
        _: &std::collections::BTreeMap<String, String>,
        _: &crate::secrets::Secrets,
    ) -> Result<Option<Self>, crate::invalid::InvalidSetting> {
        Ok(None)
    }

    pub(crate) async fn accept(
        &self,
        _: tokio::net::TcpStream,
        _: std::time::Duration,
    ) -> std::io::Result<(tokio::net::TcpStream, Option<axum::http::Extensions>)> {
        Err(std::io::Error::other(
            "TLS needs servicekit's `tls` cargo feature",
        ))
    }
}
