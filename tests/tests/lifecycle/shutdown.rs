//! SIGTERM: readiness first, then drain, then exit 0, losing no request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary};

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let exe = binary("servicekit-tests", "probe-service");
    let mut service = ServiceProcess::start(
        &exe,
        &[
            ("SERVICEKIT__SERVER__DRAIN_DELAY", "1s"),
            ("SERVICEKIT__SERVER__SHUTDOWN_TIMEOUT", "10s"),
        ],
    );
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    let client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let request = client.get(service.url("/slow/1500")).send();
            tokio::spawn(async move { request.await?.text().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    service.terminate();

    let went_unready = service
        .wait_for_status("/health/ready", 503, Duration::from_millis(500))
        .await;
    assert!(went_unready.is_some(), "readiness turns 503 at once");
    // During the drain delay the service still serves new requests (load balancers are still
    // deregistering it), and liveness stays 200.
    let res = client.get(service.url("/slow/1")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(service.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for request in in_flight {
        assert_eq!(request.await.unwrap().unwrap(), "slept 1500ms");
    }
    let status = service.wait_exit(Duration::from_secs(15)).expect("exits");
    assert_eq!(status.code(), Some(0), "stderr:\n{}", service.stderr());
}

#[tokio::test]
async fn a_second_signal_stops_without_waiting_for_the_drain() {
    let exe = binary("servicekit-tests", "probe-service");
    let mut service = ServiceProcess::start(&exe, &[("SERVICEKIT__SERVER__DRAIN_DELAY", "60s")]);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");

    service.terminate();
    service
        .wait_for_status("/health/ready", 503, Duration::from_secs(2))
        .await
        .expect("draining");
    service.terminate();

    let status = service
        .wait_exit(Duration::from_secs(10))
        .expect("exits long before 60s");
    assert_eq!(status.code(), Some(0));
    assert!(
        service.stdout().contains("second signal"),
        "{}",
        service.stdout()
    );
}

#[tokio::test]
async fn sigterm_under_load_drops_no_request() {
    let exe = binary("student-service", "student-service");
    let mut service = ServiceProcess::start(&exe, &[("SERVICEKIT__SERVER__DRAIN_DELAY", "1s")]);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    let client = reqwest::Client::new();
    // The "load balancer": clients send while readiness is 200 and stop once it is 503.
    let routed = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (client, routed, sent, failed) =
                (client.clone(), routed.clone(), sent.clone(), failed.clone());
            let base = service.url("");
            tokio::spawn(async move {
                let mut i = 0;
                while routed.load(Ordering::SeqCst) {
                    i += 1;
                    let res = if i % 2 == 0 {
                        client.get(format!("{base}/students?limit=5")).send().await
                    } else {
                        client
                            .post(format!("{base}/students"))
                            .json(&serde_json::json!({
                                "name": "Load",
                                "email": format!("w{worker}-{i}@example.org")
                            }))
                            .send()
                            .await
                    };
                    sent.fetch_add(1, Ordering::SeqCst);
                    match res {
                        Ok(r) if r.status().is_success() => {}
                        _ => {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    service.terminate();
    service
        .wait_for_status("/health/ready", 503, Duration::from_secs(2))
        .await
        .expect("readiness turns 503");
    routed.store(false, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }

    let status = service.wait_exit(Duration::from_secs(15)).expect("exits");
    assert_eq!(status.code(), Some(0));
    assert!(sent.load(Ordering::SeqCst) > 50, "load was applied");
    assert_eq!(failed.load(Ordering::SeqCst), 0, "no request failed");
}
