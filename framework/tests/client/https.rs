//! DNS discovery of an `https://` downstream: the connection goes to the resolved address,
//! while SNI, certificate verification and `Host` use the name.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Extension;
use axum::http::{HeaderMap, header};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use servicekit::client::{ClientConfig, ClientError, Discovery, ServiceClient};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The SNI name a connection asked for.
#[derive(Clone)]
struct Sni(Option<String>);

/// What the server saw of each request: SNI and `Host`.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// An HTTPS server on 127.0.0.1 with a self-signed certificate for `name`; returns its port,
/// the certificate (PEM) and what it saw.
async fn tls_server(name: &str) -> (u16, String, Seen) {
    let key = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    let pem = key.cert.pem();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![key.cert.der().clone()], private)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().route(
        "/x",
        get(
            move |Extension(Sni(sni)): Extension<Sni>, headers: HeaderMap| {
                let record = record.clone();
                async move {
                    let host = headers
                        .get(header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_string);
                    record.lock().unwrap().push((sni, host));
                    "secure"
                }
            },
        ),
    );
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let sni = Sni(tls.get_ref().1.server_name().map(str::to_string));
                let service = TowerToHyperService::new(app.layer(Extension(sni)));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, pem, seen)
}

fn dns_config(port: u16, ca: Option<&std::path::Path>) -> ClientConfig {
    let mut c = ClientConfig::new(format!("https://localhost:{port}"));
    c.discovery = Discovery::Dns;
    c.ca_file = ca.map(std::path::Path::to_path_buf);
    c.retry.max_attempts = 1;
    c
}

#[tokio::test]
async fn dns_discovery_over_https_verifies_and_names_the_host() {
    let (port, pem, seen) = tls_server("localhost").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();

    let client = ServiceClient::new("secure", &dns_config(port, Some(&ca))).unwrap();
    let res = client.get("/x").send().await.expect("call over https");

    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "secure");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            Some("localhost".to_string()),
            Some(format!("localhost:{port}"))
        )],
        "SNI and Host carry the name, not the resolved address"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (port, _pem, seen) = tls_server("localhost").await;

    let client = ServiceClient::new("secure", &dns_config(port, None)).unwrap();
    let err = client.get("/x").send().await.unwrap_err();

    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_unreadable_ca_file_names_the_key() {
    let c = dns_config(443, Some(std::path::Path::new("/nonexistent/ca.pem")));
    let err = ServiceClient::new("secure", &c).unwrap_err();
    assert_eq!(err.key, "ca_file");
    assert!(err.to_string().contains("clients.secure.ca_file"), "{err}");
}
