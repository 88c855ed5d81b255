//! Certificate rotation under load: the files are replaced while requests run; no request
//! fails, new handshakes get the new certificate, a kept-alive connection stays open. The
//! client CA bundle is reloaded too, and material given by secret references follows the
//! secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use servicekit::Service;
use servicekit::testing::{TestApp, eventually};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use crate::pki::{self, Ca, Files};

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// The certificate the server presented on the connection that answered `res`.
fn presented(res: &reqwest::Response) -> Vec<u8> {
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("tls_info is on")
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_certificate_under_load_fails_no_request() {
    let ca = Ca::new("school CA");
    let old = ca.server();
    let files = Files::new(&ca, &old);
    let app = pki::service(&files, true).await;
    let identity = ca.client("spiffe://school/subject-service").identity();
    let url = pki::url(&app, "/hello");

    // A connection opened before the rotation.
    let kept = pki::client(&ca, Some(identity.clone()), app.addr());
    let res = kept.get(&url).send().await.unwrap();
    assert_eq!(presented(&res), der(&old.cert));

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (url, identity, addr) = (url.clone(), identity.clone(), app.addr());
        let ca_pem = ca.pem.clone();
        let shared = pki::client_with_root(&ca_pem, Some(identity.clone()), addr);
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // Even workers reuse a kept-alive connection, odd ones handshake every time.
                let client = if worker % 2 == 0 {
                    shared.clone()
                } else {
                    pki::client_with_root(&ca_pem, Some(identity.clone()), addr)
                };
                match client.get(&url).send().await {
                    Ok(res) if res.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        eprintln!("failed: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    let served = |n: usize| {
        let ok = ok.clone();
        async move {
            let now = ok.load(Ordering::Relaxed);
            if now >= n { Ok(()) } else { Err(now) }
        }
    };
    eventually(|| served(50)).await;

    let new = ca.server();
    files.write(&new);
    let after = eventually(|| async {
        let fresh = pki::client(&ca, Some(identity.clone()), app.addr());
        let res = fresh.get(&url).send().await.map_err(|e| e.to_string())?;
        if presented(&res) == der(&new.cert) {
            Ok(ok.load(Ordering::Relaxed))
        } else {
            Err("still the old certificate".to_string())
        }
    })
    .await;
    eventually(|| served(after + 50)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in load {
        worker.await.unwrap();
    }

    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed requests");
    // The connection opened before the rotation is still the same one.
    let res = kept.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(presented(&res), der(&old.cert));
    let metrics = kept.get(pki::url(&app, "/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("servicekit_tls_certificate_reloads_total{outcome=\"ok\"}")),
        "{metrics}"
    );
}

/// Whether a fresh client presenting `identity` (and trusting `ca`) is served `url`.
async fn accepted(ca: &Ca, identity: &reqwest::Identity, app: &TestApp, url: &str) -> bool {
    let fresh = pki::client(ca, Some(identity.clone()), app.addr());
    matches!(fresh.get(url).send().await, Ok(res) if res.status() == 200)
}

#[tokio::test]
async fn a_rotated_client_ca_bundle_applies_to_new_handshakes() {
    let old_ca = Ca::new("old CA");
    let new_ca = Ca::new("new CA");
    let files = Files::new(&old_ca, &old_ca.server());
    let app = pki::service(&files, true).await;
    let url = pki::url(&app, "/hello");
    let uri = "spiffe://school/subject-service";
    let of_old = old_ca.client(uri).identity();
    let of_new = new_ca.client(uri).identity();
    let kept = pki::client(&old_ca, Some(of_old.clone()), app.addr());
    assert_eq!(kept.get(&url).send().await.unwrap().status(), 200);
    assert!(
        !accepted(&old_ca, &of_new, &app, &url).await,
        "not yet trusted"
    );

    // Both CAs in the bundle: the new CA's clients are accepted, the old CA's still are.
    files.replace("ca.crt", &format!("{}\n{}", old_ca.pem, new_ca.pem));
    eventually(|| async {
        accepted(&old_ca, &of_new, &app, &url)
            .await
            .then_some(())
            .ok_or("the new CA is not trusted yet")
    })
    .await;
    assert!(accepted(&old_ca, &of_old, &app, &url).await);

    // Only the new CA: new handshakes with the old CA's certificates are refused, while the
    // connection opened before keeps serving.
    files.replace("ca.crt", &new_ca.pem);
    eventually(|| async {
        (!accepted(&old_ca, &of_old, &app, &url).await)
            .then_some(())
            .ok_or("the old CA is still trusted")
    })
    .await;
    assert!(accepted(&old_ca, &of_new, &app, &url).await);
    assert_eq!(kept.get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn material_given_by_secret_references_follows_the_secrets() {
    let ca = Ca::new("school CA");
    let old = ca.server();
    let files = Files::new(&ca, &old);
    let reference = |name: &str| format!("file://{}", files.path(name).display());
    let builder = Service::builder("tls-secrets")
        .set("secrets.refresh_interval", "200ms")
        .set("server.tls.cert_file", reference("server.crt"))
        .set("server.tls.key_file", reference("server.key"))
        .set("server.tls.client_ca_file", reference("ca.crt"))
        .routes(|_| async { pki::routes() });
    let app = TestApp::spawn(builder).await.unwrap();
    let url = pki::url(&app, "/hello");
    let identity = ca.client("spiffe://school/subject-service").identity();
    let kept = pki::client(&ca, Some(identity.clone()), app.addr());
    let res = kept.get(&url).send().await.unwrap();
    assert_eq!(presented(&res), der(&old.cert));

    // The secret behind cert_file and key_file rotates: new handshakes present the new pair.
    let new = ca.server();
    files.write(&new);
    eventually(|| async {
        let fresh = pki::client(&ca, Some(identity.clone()), app.addr());
        let res = fresh.get(&url).send().await.map_err(|e| e.to_string())?;
        (presented(&res) == der(&new.cert))
            .then_some(())
            .ok_or_else(|| "still the old certificate".to_string())
    })
    .await;

    // The secret behind client_ca_file rotates: another CA's clients are accepted.
    let other = Ca::new("other CA");
    let of_other = other.client("spiffe://school/gateway").identity();
    assert!(!accepted(&ca, &of_other, &app, &url).await);
    files.replace("ca.crt", &format!("{}\n{}", ca.pem, other.pem));
    eventually(|| async {
        accepted(&ca, &of_other, &app, &url)
            .await
            .then_some(())
            .ok_or("the other CA is not trusted yet")
    })
    .await;

    // The connection opened before the rotations is still the same one.
    let res = kept.get(&url).send().await.unwrap();
    assert_eq!(presented(&res), der(&old.cert));
}
