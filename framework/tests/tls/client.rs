//! `ServiceClient` over mutual TLS, end to end: one service calls another through
//! `[clients.<name>.tls]`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use servicekit::Service;
use servicekit::client::ServiceClient;
use servicekit::testing::TestApp;

use crate::pki::{self, Ca, Files};

#[tokio::test]
async fn a_service_calls_another_over_mutual_tls() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let student = pki::service(&files, true).await;
    let client_cert = ca.client("spiffe://school/subject-service");
    std::fs::write(files.path("client.crt"), &client_cert.cert).unwrap();
    std::fs::write(files.path("client.key"), &client_cert.key).unwrap();

    let base = format!("https://localhost:{}", student.addr().port());
    let subject = Service::builder("subject-service")
        .set("clients.student-service.base_url", &base)
        .set("clients.student-service.tls.ca_file", files.path("ca.crt"))
        .set(
            "clients.student-service.tls.cert_file",
            files.path("client.crt"),
        )
        .set(
            "clients.student-service.tls.key_file",
            files.path("client.key"),
        )
        .set("clients.anonymous.base_url", &base)
        .set("clients.anonymous.tls.ca_file", files.path("ca.crt"))
        .set("clients.anonymous.retry.max_attempts", 1)
        .routes(|ctx| async move {
            let with_cert = ctx.client("student-service")?;
            let without = ctx.client("anonymous")?;
            Ok::<_, servicekit::BoxError>(
                Router::new()
                    .route("/relay/{path}", get(relay))
                    .with_state((with_cert, without)),
            )
        });
    let subject = TestApp::spawn(subject).await.unwrap();

    let res = subject.get("/relay/whoami").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "spiffe://school/subject-service");
    let res = subject.get("/relay/internal").await;
    assert_eq!(res.text().await.unwrap(), "internal");

    // Without a client certificate the handshake is refused.
    let res = subject.get("/relay/anonymous").await;
    assert_eq!(res.text().await.unwrap(), "refused");
}

async fn relay(
    State((with_cert, without)): State<(ServiceClient, ServiceClient)>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> String {
    if path == "anonymous" {
        return match without.get("/hello").send().await {
            Ok(res) => format!("answered {}", res.status()),
            Err(_) => "refused".into(),
        };
    }
    match with_cert.get(format!("/{path}")).send().await {
        Ok(res) => res.text(),
        Err(e) => format!("error: {e}"),
    }
}

#[tokio::test]
async fn a_client_certificate_without_its_key_names_the_key() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let mut config = servicekit::client::ClientConfig::new("https://localhost:1");
    config.tls.cert_file = Some(files.path("server.crt"));
    let err = ServiceClient::new("student-service", &config).unwrap_err();
    assert!(err.to_string().contains("tls.key_file"), "{err}");
    config.tls.key_file = Some(files.path("missing.key"));
    let err = ServiceClient::new("student-service", &config).unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[tokio::test]
async fn a_rotated_client_certificate_is_presented_on_new_connections() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let student = pki::service(&files, true).await;
    let addr = student.addr();
    files.write_pair("client", &ca.client("spiffe://school/subject-service"));

    let mut config =
        servicekit::client::ClientConfig::new(format!("https://localhost:{}", addr.port()));
    config.tls.ca_file = Some(files.path("ca.crt"));
    config.tls.cert_file = Some(files.path("client.crt"));
    config.tls.key_file = Some(files.path("client.key"));
    let client = ServiceClient::new("student-service", &config).unwrap();
    let res = client.get("/whoami").send().await.unwrap();
    assert_eq!(res.text(), "spiffe://school/subject-service");

    files.write_pair("client", &ca.client("spiffe://school/subject-service-v2"));
    // The open connection keeps its handshake; a restart of the server closes it, and the
    // client's next connection presents the new certificate.
    student.shutdown().await.unwrap();
    let student = TestApp::spawn_at(
        Service::builder("tls-test")
            .set("server.tls.cert_file", files.path("server.crt"))
            .set("server.tls.key_file", files.path("server.key"))
            .set("server.tls.client_ca_file", files.path("ca.crt"))
            .routes(|_| async { pki::routes() }),
        addr,
    )
    .await
    .unwrap();
    let name = servicekit::testing::eventually(|| async {
        match client.get("/whoami").send().await {
            Ok(res) if res.status() == 200 => Ok(res.text()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(name, "spiffe://school/subject-service-v2");
    drop(student);
}

#[tokio::test]
async fn the_server_name_is_verified() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let student = pki::service(&files, true).await;
    files.write_pair("client", &ca.client("spiffe://school/subject-service"));
    let config = |base: String| {
        let mut config = servicekit::client::ClientConfig::new(base);
        config.tls.ca_file = Some(files.path("ca.crt"));
        config.tls.cert_file = Some(files.path("client.crt"));
        config.tls.key_file = Some(files.path("client.key"));
        config.retry.max_attempts = 1;
        config
    };
    let port = student.addr().port();

    let named = ServiceClient::new("s", &config(format!("https://localhost:{port}"))).unwrap();
    assert_eq!(named.get("/hello").send().await.unwrap().status(), 200);

    // The certificate names `localhost`, not the address.
    let by_ip = ServiceClient::new("s", &config(format!("https://127.0.0.1:{port}"))).unwrap();
    let err = by_ip.get("/hello").send().await.unwrap_err();
    assert!(
        format!("{err:?}").to_lowercase().contains("certificate"),
        "{err:?}"
    );
}

#[tokio::test]
async fn dns_discovery_with_a_client_certificate_verifies_the_name_not_the_address() {
    let ca = Ca::new("school CA");
    let files = Files::new(&ca, &ca.server());
    let student = pki::service(&files, true).await;
    files.write_pair("client", &ca.client("spiffe://school/subject-service"));
    let config = || {
        let mut config = servicekit::client::ClientConfig::new(format!(
            "https://localhost:{}",
            student.addr().port()
        ));
        config.discovery = servicekit::client::Discovery::Dns;
        config.tls.ca_file = Some(files.path("ca.crt"));
        config.tls.cert_file = Some(files.path("client.crt"));
        config.tls.key_file = Some(files.path("client.key"));
        config
    };

    // Connections go to the resolved address, which the certificate does not name; SNI and
    // verification use `localhost`, which it does.
    let client = ServiceClient::new("student-service", &config()).unwrap();
    let res = client.get("/whoami").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "spiffe://school/subject-service");

    // The server moves to a certificate that does not name `localhost`: a new client's
    // handshake fails verification although the address is the same.
    files.write(&ca.workload(
        &["student-service.school.svc"],
        "spiffe://school/student-service",
    ));
    let err = servicekit::testing::eventually(|| async {
        let fresh = ServiceClient::new("student-service", &config()).unwrap();
        match fresh.get("/whoami").send().await {
            Err(e) => Ok(e),
            Ok(res) => Err(res.status()),
        }
    })
    .await;
    assert!(
        format!("{err:?}").to_lowercase().contains("certificate"),
        "{err:?}"
    );
}
