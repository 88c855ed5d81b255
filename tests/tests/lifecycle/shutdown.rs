//! SIGTERM: readiness first, then drain, then exit 0, losing no request.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use servicekit::testing::eventually;
use servicekit_tests::{ServiceProcess, binary};

/// Starts `exe` with `env` and waits until it is ready.
async fn ready(exe: &Path, env: &[(&str, &str)]) -> ServiceProcess {
    let service = ServiceProcess::start(exe, env);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    service
}

/// How many requests `service` is handling on `route`, from its `http_server_active_requests`
/// gauge.
async fn active_requests(service: &ServiceProcess, route: &str) -> Result<f64, String> {
    let text = reqwest::get(service.url("/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let label = format!("route=\"{route}\"");
    Ok(text
        .lines()
        .filter(|l| l.starts_with("http_server_active_requests{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut service = ready(
        &binary("servicekit-tests", "probe-service"),
        &[
            ("SERVICEKIT__SERVER__DRAIN_DELAY", "1s"),
            ("SERVICEKIT__SERVER__SHUTDOWN_TIMEOUT", "10s"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let request = client.get(service.url("/slow/1500")).send();
            tokio::spawn(async move { request.await?.text().await })
        })
        .collect();
    eventually(|| async {
        match active_requests(&service, "/slow/{ms}").await? {
            n if n >= 8.0 => Ok(()),
            n => Err(format!("{n} of 8 requests in flight")),
        }
    })
    .await;

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
    let mut service = ready(
        &binary("servicekit-tests", "probe-service"),
        &[("SERVICEKIT__SERVER__DRAIN_DELAY", "60s")],
    )
    .await;

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
    let mut service = ready(
        &binary("student-service", "student-service"),
        &[("SERVICEKIT__SERVER__DRAIN_DELAY", "1s")],
    )
    .await;
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
    eventually(|| async {
        match sent.load(Ordering::SeqCst) {
            n if n > 50 => Ok(()),
            n => Err(format!("only {n} requests sent")),
        }
    })
    .await;

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

/// Sends `GET path` on `stream` (kept alive) and returns the response head, lower-cased, after
/// reading the whole response.
async fn get_on(stream: &mut tokio::net::TcpStream, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering: {response:?}");
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if response.len() >= end + 4 + length {
                return text[..end].to_string();
            }
        }
    }
}

/// During the drain every HTTP/1 response says `Connection: close` and the connection is closed
/// after it, so kept-alive clients reconnect while the listener still accepts; clients that
/// keep sending through the whole shutdown see no failed request until the listener is closed
/// (then only refused connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_drain_closes_kept_alive_connections_politely() {
    use tokio::io::AsyncReadExt;

    let mut service = ready(
        &binary("servicekit-tests", "probe-service"),
        &[
            ("SERVICEKIT__SERVER__DRAIN_DELAY", "2s"),
            ("SERVICEKIT__SERVER__SHUTDOWN_TIMEOUT", "10s"),
        ],
    )
    .await;
    let addr = ("127.0.0.1", service.port());

    // A kept-alive connection: before SIGTERM it stays open.
    let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = get_on(&mut kept, "/slow/1").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");

    // Clients that keep sending through the whole shutdown on pooled connections.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (stop, ok) = (stop.clone(), ok.clone());
            let url = service.url("/slow/5");
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut failures = Vec::new();
                let mut refused = 0;
                while !stop.load(Ordering::SeqCst) {
                    match client.get(&url).send().await {
                        Ok(res) if res.status() == 200 => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(res) => failures.push(format!("status {}", res.status())),
                        // The listener is closed: refused, as expected.
                        Err(e) if e.is_connect() => {
                            refused += 1;
                            // A client's back-off before it tries again.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => failures.push(format!("{e:?}")),
                    }
                }
                (failures, refused)
            })
        })
        .collect();
    eventually(|| async {
        match ok.load(Ordering::SeqCst) {
            n if n >= 12 => Ok(()),
            n => Err(format!("only {n} requests answered")),
        }
    })
    .await;

    service.terminate();
    service
        .wait_for_status("/health/ready", 503, Duration::from_secs(2))
        .await
        .expect("readiness turns 503");
    let during_drain = ok.load(Ordering::SeqCst);

    // The next answer on the kept-alive connection says close, and the server closes it.
    let head = get_on(&mut kept, "/slow/1").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the connection stays open"
    );

    let status = tokio::task::spawn_blocking(move || {
        let status = service.wait_exit(Duration::from_secs(30));
        (status, service.stdout())
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let (mut failures, mut refused) = (Vec::new(), 0);
    for worker in workers {
        let (f, r) = worker.await.unwrap();
        failures.extend(f);
        refused += r;
    }
    assert_eq!(status.0.and_then(|s| s.code()), Some(0), "{}", status.1);
    let total = ok.load(Ordering::SeqCst);
    println!(
        "drain: {total} requests ok ({} after SIGTERM), {refused} refused after the close, {} failed",
        total - during_drain.min(total),
        failures.len()
    );
    assert!(
        total > during_drain,
        "requests were served during the drain"
    );
    assert!(
        failures.is_empty(),
        "{} requests failed on an open connection, the first: {:?}",
        failures.len(),
        failures.first()
    );
}
