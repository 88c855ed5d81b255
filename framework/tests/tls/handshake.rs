//! The handshake: server TLS with ALPN, and mutual TLS refusing clients without a valid
//! certificate; the admin port stays plain HTTP.

use axum::http::Version;
use servicekit::Service;
use servicekit::testing::TestApp;

use crate::pki::{self, Ca, Files};

#[tokio::test]
async fn serves_https_with_alpn_h2_and_http1() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let app = pki::service(&files, false).await;

    let h2 = pki::client(&ca, None, app.addr());
    let res = h2.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_2, "ALPN h2");
    assert_eq!(res.text().await.unwrap(), "hello over TLS");

    let http1 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .resolve("localhost", app.addr())
        .http1_only()
        .build()
        .unwrap();
    let res = http1.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), Version::HTTP_11);

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::get(format!("http://{}/hello", app.addr())).await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn mutual_tls_refuses_missing_untrusted_and_expired_client_certificates() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let app = pki::service(&files, true).await;
    let uri = "spiffe://school/subject-service";

    let trusted = pki::client(&ca, Some(ca.client(uri).identity()), app.addr());
    let res = trusted.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200, "a certificate of the CA is accepted");

    let cases = [
        ("no certificate", None),
        (
            "a certificate of another CA",
            Some(Ca::new("rogue CA").client(uri).identity()),
        ),
        (
            "an expired certificate",
            Some(ca.expired_client(uri).identity()),
        ),
    ];
    for (case, identity) in cases {
        let client = pki::client(&ca, identity, app.addr());
        let res = client.get(pki::url(&app, "/hello")).send().await;
        let err = res.expect_err(case);
        assert!(err.is_connect() || err.is_request(), "{case}: {err:?}");
    }

    let metrics = trusted
        .get(pki::url(&app, "/metrics"))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("servicekit_tls_handshake_failures_total{reason=\"refused\"}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_admin_port_stays_plain_http_for_probes() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let admin_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let builder = Service::builder("tls-admin")
        .set("server.host", "127.0.0.1")
        .set("server.admin_port", admin_port)
        .set("server.tls.cert_file", files.path("server.crt"))
        .set("server.tls.key_file", files.path("server.key"))
        .set("server.tls.client_ca_file", files.path("ca.crt"))
        .routes(|_| async { pki::routes() });
    let app = TestApp::spawn(builder).await.unwrap();

    let live = reqwest::get(format!("http://127.0.0.1:{admin_port}/health/live"))
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "kubelet needs no client certificate");
    let ready = reqwest::get(format!("http://127.0.0.1:{admin_port}/health/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let client = pki::client(&ca, None, app.addr());
    assert!(client.get(pki::url(&app, "/hello")).send().await.is_err());
}

#[tokio::test]
async fn min_version_1_3_refuses_tls_1_2() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let builder = Service::builder("tls13")
        .set("server.tls.cert_file", files.path("server.crt"))
        .set("server.tls.key_file", files.path("server.key"))
        .set("server.tls.min_version", "1.3")
        .routes(|_| async { pki::routes() });
    let app = TestApp::spawn(builder).await.unwrap();
    let roots = || [reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()];

    let tls12 = reqwest::Client::builder()
        .tls_certs_only(roots())
        .resolve("localhost", app.addr())
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(tls12.get(pki::url(&app, "/hello")).send().await.is_err());

    let tls13 = pki::client(&ca, None, app.addr());
    let res = tls13.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_connection_that_never_completes_the_handshake_is_closed() {
    use tokio::io::AsyncReadExt;

    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let builder = Service::builder("tls-slow")
        .set("server.header_read_timeout", "300ms")
        .set("server.tls.cert_file", files.path("server.crt"))
        .set("server.tls.key_file", files.path("server.key"))
        .routes(|_| async { pki::routes() });
    let app = TestApp::spawn(builder).await.unwrap();

    // Connects and sends nothing: no ClientHello.
    let mut silent = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    let mut buf = [0_u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // Others are still served.
    let client = pki::client(&ca, None, app.addr());
    let res = client.get(pki::url(&app, "/hello")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn shutdown_finishes_a_request_in_flight_over_tls() {
    let ca = Ca::new("test CA");
    let files = Files::new(&ca, &ca.server());
    let (entered_tx, entered) = tokio::sync::oneshot::channel::<()>();
    let entered_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let builder = Service::builder("tls-drain")
        .set("server.tls.cert_file", files.path("server.crt"))
        .set("server.tls.key_file", files.path("server.key"))
        .routes(move |_| async move {
            axum::Router::new().route(
                "/slow",
                axum::routing::get(move || {
                    let taken = entered_tx.lock().unwrap().take();
                    if let Some(tx) = taken {
                        let _ = tx.send(());
                    }
                    async {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        "done"
                    }
                }),
            )
        });
    let app = TestApp::spawn(builder).await.unwrap();
    let client = pki::client(&ca, None, app.addr());
    let url = pki::url(&app, "/slow");
    let request = tokio::spawn(async move { client.get(url).send().await });
    entered.await.unwrap();
    app.shutdown().await.unwrap();
    let res = request.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "done");
}
