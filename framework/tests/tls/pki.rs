//! A throwaway PKI per test: a CA that issues server and client certificates, written to a
//! temporary folder, and the service and clients that use them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use servicekit::Service;
use servicekit::testing::TestApp;
use servicekit::tls::{PeerIdentity, require_peer};

/// A certificate authority.
pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate (PEM).
    pub(crate) pem: String,
}

/// A certificate and its private key (PEM).
pub(crate) struct Leaf {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    fn issue(&self, dns: &[&str], uris: &[&str], client: bool, expired: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>()).unwrap();
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost`.
    pub(crate) fn server(&self) -> Leaf {
        self.issue(&["localhost"], &[], false, false)
    }

    /// A client certificate with the SAN URI `uri`.
    pub(crate) fn client(&self, uri: &str) -> Leaf {
        self.issue(&[], &[uri], true, false)
    }

    /// A client certificate with the SAN URI `uri` that expired in 2021.
    pub(crate) fn expired_client(&self, uri: &str) -> Leaf {
        self.issue(&[], &[uri], true, true)
    }
}

impl Leaf {
    pub(crate) fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).unwrap()
    }
}

/// The files of a service's TLS: `server.crt`, `server.key`, `ca.crt` in a temporary folder.
pub(crate) struct Files {
    pub(crate) dir: tempfile::TempDir,
}

impl Files {
    pub(crate) fn new(ca: &Ca, server: &Leaf) -> Self {
        let files = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        files.write(server);
        std::fs::write(files.path("ca.crt"), &ca.pem).unwrap();
        files
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces the server certificate and key, each by an atomic rename (as Kubernetes and
    /// cert-manager do), key first.
    pub(crate) fn write(&self, server: &Leaf) {
        self.write_pair("server", server);
    }

    /// Replaces `{name}.key` and `{name}.crt` as [`Files::write`] does.
    pub(crate) fn write_pair(&self, name: &str, leaf: &Leaf) {
        replace(&self.path(&format!("{name}.key")), &leaf.key);
        replace(&self.path(&format!("{name}.crt")), &leaf.cert);
    }
}

fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

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
