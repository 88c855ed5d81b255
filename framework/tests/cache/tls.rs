//! `rediss://` with a CA of the test's own (rcgen), and Redis 6 ACL credentials with the
//! password behind a `file://` secret reference, as an ElastiCache cluster with TLS and RBAC
//! (or AUTH) is used.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use servicekit::testing::eventually;

use super::{RedisServer, readiness, service, start};

const PASSWORD: &str = "s3cret-acl-pass";

/// A CA, and a server certificate for `localhost` it signed: (ca.pem, server.crt, server.key).
fn pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "cache test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_pem, server.pem(), key.serialize_pem())
}

#[tokio::test]
async fn rediss_with_acl_user_and_a_secret_password() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("ca.pem"), ca).unwrap();
    std::fs::write(path("server.crt"), cert).unwrap();
    std::fs::write(path("server.key"), key).unwrap();
    std::fs::write(path("password"), PASSWORD).unwrap();
    let (crt, key) = (path("server.crt"), path("server.key"));
    let redis = RedisServer::start_with(|port| {
        let mut args: Vec<String> = ["--port", "0", "--tls-port"].map(String::from).to_vec();
        args.push(port.to_string());
        args.extend(["--tls-cert-file".into(), crt, "--tls-key-file".into(), key]);
        args.extend(["--tls-auth-clients", "no", "--user", "default", "off"].map(String::from));
        args.extend(["--user", "app", "on"].map(String::from));
        args.push(format!(">{PASSWORD}"));
        args.extend(["~*", "+@all"].map(String::from));
        args
    })
    .await;
    let url = format!("rediss://localhost:{}", redis.port());

    let builder = service(&url)
        .set("cache.ca_file", path("ca.pem"))
        .set("cache.username", "app")
        .set("cache.password", format!("file://{}", path("password")));
    let (app, cache) = start(builder).await;
    cache.set("tls", &"over TLS", None).await.unwrap();
    assert_eq!(
        cache.get::<String>("tls").await.unwrap().as_deref(),
        Some("over TLS")
    );
    let (status, body) = readiness(&app).await;
    assert_eq!(
        (status, &body["checks"]["cache"][0]["status"]),
        (200, &"pass".into()),
        "{body}"
    );
    app.shutdown().await.unwrap();

    // A wrong password: the service still starts, the cache is degraded, and no message shows
    // the password.
    let wrong = service(&url)
        .set("cache.ca_file", path("ca.pem"))
        .set("cache.username", "app")
        .set("cache.password", "wrong-password-42")
        .set("cache.connect_timeout", "300ms");
    let (app, cache) = start(wrong).await;
    let error = cache.get::<String>("tls").await.unwrap_err().to_string();
    assert!(!error.contains("wrong-password-42"), "{error}");
    let body = eventually(|| async {
        match readiness(&app).await {
            (200, body) if body["checks"]["cache"][0]["status"] == "warn" => Ok(body),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(!body.to_string().contains("wrong-password-42"), "{body}");
    app.shutdown().await.unwrap();
}
