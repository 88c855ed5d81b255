//! Slowloris and idle connections: closed by `server.header_read_timeout`, never starving
//! normal requests; `server.max_connections` holds further connections in the backlog.

use std::time::{Duration, Instant};

use servicekit_tests::ServiceProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::{percentile, ready, student_exe};

const IDLE: usize = 1_000;
const SLOWLORIS: usize = 200;
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the server closes `stream` (EOF or reset) and returns how long that took from
/// `opened`; `drip` sends one header line every second meanwhile (slowloris).
async fn until_closed(mut stream: TcpStream, opened: Instant, drip: bool) -> Duration {
    let (mut read, mut write) = stream.split();
    let mut buf = [0u8; 1024];
    let dripping = async {
        if !drip {
            return std::future::pending().await;
        }
        if write
            .write_all(b"GET /students HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .is_err()
        {
            return std::future::pending().await;
        }
        for i in 0u64.. {
            // Slowloris: one more header line a second, never the end of the head.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let line = format!("X-Slow-{i}: {i}\r\n");
            if write.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        std::future::pending().await
    };
    let closed = async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                // hyper may answer a timed-out head with an error response before closing.
                Ok(_) => continue,
            }
        }
    };
    tokio::select! {
        () = closed => {},
        () = dripping => {},
    }
    opened.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slowloris_and_idle_connections_do_not_starve_normal_requests() {
    let service = ServiceProcess::start(
        &student_exe(),
        &[
            ("SERVICEKIT__SERVER__HEADER_READ_TIMEOUT", "5s"),
            ("RUST_LOG", "warn"),
        ],
    );
    ready(&service).await;
    let addr = format!("127.0.0.1:{}", service.port());

    // The attack: 1,000 connections that send nothing, 200 that drip header bytes.
    let mut attackers = JoinSet::new();
    for i in 0..IDLE + SLOWLORIS {
        let stream = TcpStream::connect(&addr).await.expect("connect");
        let opened = Instant::now();
        attackers.spawn(until_closed(stream, opened, i >= IDLE));
    }

    // Normal requests during the attack, each on a new connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    let attack_started = Instant::now();
    while attack_started.elapsed() < Duration::from_secs(3) {
        let sent = Instant::now();
        let res = client.get(service.url("/students?limit=5")).send().await;
        let elapsed = sent.elapsed();
        let res = res.unwrap_or_else(|e| panic!("normal request failed during the attack: {e}"));
        assert_eq!(res.status(), 200);
        latencies.push(elapsed);
    }
    // Every attacking connection is closed by the header read timeout, slowloris included.
    let mut closed_after = Vec::new();
    let deadline = HEADER_READ_TIMEOUT + Duration::from_secs(20);
    while let Some(elapsed) = tokio::time::timeout(deadline, attackers.join_next())
        .await
        .expect("every attacking connection is closed by the server")
    {
        closed_after.push(elapsed.unwrap());
    }
    let (earliest, latest) = (percentile(&closed_after, 0), percentile(&closed_after, 100));
    let (median, max) = (percentile(&latencies, 50), percentile(&latencies, 100));
    println!(
        "normal requests during the attack: {} ok, median {median:?}, max {max:?}; \
         attacking connections closed after {earliest:?}..{latest:?}",
        latencies.len()
    );
    assert!(
        latencies.len() >= 5,
        "only {} requests in 3s",
        latencies.len()
    );
    assert!(
        max < Duration::from_secs(2),
        "a normal request took {max:?}"
    );
    assert!(
        earliest >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "closed before the timeout: {earliest:?}"
    );
    // The service is still healthy afterwards.
    let res = client
        .get(service.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_a_slot_frees() {
    let service = ServiceProcess::start(
        &student_exe(),
        &[
            ("SERVICEKIT__SERVER__MAX_CONNECTIONS", "20"),
            ("SERVICEKIT__SERVER__HEADER_READ_TIMEOUT", "3s"),
        ],
    );
    ready(&service).await;
    let addr = format!("127.0.0.1:{}", service.port());
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }

    // The 21st connection is accepted by the kernel but not served while 20 are open...
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let sent = Instant::now();
    let request = tokio::spawn(client.get(service.url("/health/live")).send());
    // A second in which nothing may answer it: there is no event to wait for.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !request.is_finished(),
        "answered although all 20 slots were taken"
    );

    // ...and once the idle ones are closed by the header read timeout, it is served.
    let res = tokio::time::timeout(Duration::from_secs(20), request)
        .await
        .expect("served once a slot frees")
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), 200);
    println!(
        "the request past the cap was answered after {:?}",
        sent.elapsed()
    );
    drop(idle);
}

/// A kept-alive connection is closed after `server.idle_timeout`, not after the shorter
/// `server.header_read_timeout`: a load balancer's pooled connections stay usable.
#[tokio::test]
async fn a_kept_alive_connection_outlives_the_header_read_timeout_until_the_idle_timeout() {
    let service = ServiceProcess::start(
        &student_exe(),
        &[
            ("SERVICEKIT__SERVER__HEADER_READ_TIMEOUT", "1s"),
            ("SERVICEKIT__SERVER__IDLE_TIMEOUT", "4s"),
        ],
    );
    ready(&service).await;
    let mut stream = TcpStream::connect(("127.0.0.1", service.port()))
        .await
        .expect("connect");
    let request = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut buf = vec![0u8; 8192];

    stream.write_all(request).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Idle for twice the header read timeout: the connection still serves.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.write_all(request).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    // Then idle past the idle timeout: the server closes it.
    let idle_since = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection was never closed");
    let idle = idle_since.elapsed();
    println!("kept-alive connection closed after {idle:?} idle (idle_timeout 4s)");
    assert!(idle >= Duration::from_secs(3), "closed too early: {idle:?}");
}

/// A client that sends its body too slowly is told so with 408 (its fault), not 503 (the
/// server's), as problem+json, and the connection is closed.
#[tokio::test]
async fn a_body_trickling_in_past_the_request_timeout_gets_408() {
    let service = ServiceProcess::start(
        &student_exe(),
        &[("SERVICEKIT__SERVER__REQUEST_TIMEOUT", "1s")],
    );
    ready(&service).await;
    let mut stream = TcpStream::connect(("127.0.0.1", service.port()))
        .await
        .expect("connect");
    stream
        .write_all(
            b"POST /students HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"name\":",
        )
        .await
        .unwrap();
    // One more byte now and then, never the whole body.
    let sent = Instant::now();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let (mut read_half, mut write_half) = stream.split();
    let read = async {
        loop {
            match read_half.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    };
    let drip = async {
        for _ in 0..20 {
            // A slow sender: one byte every 300 ms.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = write_half.write_all(b" ").await;
        }
    };
    tokio::select! {
        () = read => {},
        () = drip => panic!("no answer within 6s"),
    }
    let text = String::from_utf8_lossy(&response);
    println!("answered after {:?}", sent.elapsed());
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
}
