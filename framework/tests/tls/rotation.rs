//! Certificate rotation under load: the files are replaced while requests run; no request
//! fails, new handshakes get the new certificate, a kept-alive connection stays open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use servicekit::testing::eventually;
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
