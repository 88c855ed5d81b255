//! Broken TLS settings stop startup with the key and the fix.

use servicekit::Service;
use servicekit::testing::TestApp;

use crate::pki::{self, Ca, Files};

async fn startup_error(set: &[(&str, String)]) -> String {
    let mut builder = Service::builder("tls-broken").routes(|_| async { pki::routes() });
    for (key, value) in set {
        builder = builder.set(key, value);
    }
    match TestApp::spawn(builder).await {
        Ok(_) => panic!("started with {set:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn missing_unreadable_and_mismatched_files_name_their_key() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let cert = files.path("server.crt").display().to_string();
    let key = files.path("server.key").display().to_string();
    std::fs::write(files.path("junk.pem"), "not a certificate").unwrap();
    let other = ca.server();
    std::fs::write(files.path("other.key"), &other.key).unwrap();
    let path = |name: &str| files.path(name).display().to_string();

    let cases = [
        (
            vec![
                ("server.tls.cert_file", path("missing.crt")),
                ("server.tls.key_file", key.clone()),
            ],
            "server.tls.cert_file",
            "cannot read",
        ),
        (
            vec![
                ("server.tls.cert_file", path("junk.pem")),
                ("server.tls.key_file", key.clone()),
            ],
            "server.tls.cert_file",
            "no PEM certificate",
        ),
        (
            vec![
                ("server.tls.cert_file", cert.clone()),
                ("server.tls.key_file", path("other.key")),
            ],
            "server.tls.key_file",
            "does not belong to the certificate",
        ),
        (
            vec![("server.tls.key_file", key.clone())],
            "server.tls.cert_file",
            "not set",
        ),
        (
            vec![
                ("server.tls.cert_file", cert.clone()),
                ("server.tls.key_file", key.clone()),
                ("server.tls.client_ca_file", path("junk.pem")),
            ],
            "server.tls.client_ca_file",
            "no PEM certificate",
        ),
    ];
    for (set, key, message) in cases {
        let error = startup_error(&set).await;
        assert!(error.contains(key), "{set:?}: {error}");
        assert!(error.contains(message), "{set:?}: {error}");
    }
}

#[tokio::test]
async fn pem_given_inline_by_a_secret_reference_is_served() {
    let ca = Ca::new("test CA");
    let server = ca.server();
    let files = Files::new(&ca, &server);
    // `env://` references resolve to the variable's text: the PEM itself.
    let builder = Service::builder("tls-inline")
        .secret_provider(servicekit::secrets::EnvProvider::from_vars([
            ("TLS_INLINE_CERT", server.cert.clone()),
            ("TLS_INLINE_KEY", server.key.clone()),
        ]))
        .set("server.tls.cert_file", "env://TLS_INLINE_CERT")
        .set("server.tls.key_file", "env://TLS_INLINE_KEY")
        .routes(|_| async { pki::routes() });
    let app = TestApp::spawn(builder).await.unwrap();
    drop(files);
    let client = pki::client(&ca, None, app.addr());
    let res = client.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
