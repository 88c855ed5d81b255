//! The throwaway PKI of each test (`servicekit::testing::TestCa`, shared with the end-to-end
//! tests) and the service and clients that use it.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use servicekit::Service;
use servicekit::testing::TestApp;
pub(crate) use servicekit::testing::{TestCa as Ca, TlsFiles as Files};
use servicekit::tls::{PeerIdentity, require_peer};

/// A service serving TLS from `files` (mutual TLS when `mtls`) with routes:
/// `/hello`, `/whoami` (the peer's name) and `/internal` (only for
/// `spiffe://school/subject-service`).
pub(crate) async fn service(files: &Files, mtls: bool) -> TestApp {
    let mut builder = Service::builder("tls-test")
        .set("server.tls.cert_file", files.path("server.crt"))
        .set("server.tls.key_file", files.path("server.key"))
        .set("server.tls.reload_interval", "100ms")
        .routes(|_| async { routes() });
    if mtls {
        builder = builder.set("server.tls.client_ca_file", files.path("ca.crt"));
    }
    TestApp::spawn(builder).await.unwrap()
}

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello over TLS" }))
        .route(
            "/whoami",
            get(|peer: PeerIdentity| async move { peer.name().unwrap_or("").to_string() }),
        )
        .route(
            "/internal",
            get(|| async { "internal" })
                .route_layer(require_peer(["spiffe://school/subject-service"])),
        )
}

/// A client trusting `ca`, presenting `identity`, reaching `localhost` at `addr`.
pub(crate) fn client(
    ca: &Ca,
    identity: Option<reqwest::Identity>,
    addr: SocketAddr,
) -> reqwest::Client {
    client_with_root(&ca.pem, identity, addr)
}

/// [`client`] trusting the CA certificate `ca_pem`.
pub(crate) fn client_with_root(
    ca_pem: &str,
    identity: Option<reqwest::Identity>,
    addr: SocketAddr,
) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .resolve("localhost", addr)
        .tls_info(true);
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

/// `https://localhost:PORT{path}` of `app`.
pub(crate) fn url(app: &TestApp, path: &str) -> String {
    format!("https://localhost:{}{path}", app.addr().port())
}
