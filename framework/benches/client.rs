//! Cost of the ServiceClient stack.
//!
//! `cargo bench -p servicekit --bench client`
//!
//! - `get/bare_reqwest` vs `get/service_client`: one GET to a local axum server, body read;
//!   the difference is the whole stack's overhead (deadline, retry, breaker, bulkhead, attempt
//!   timeout, instance choice, metrics, propagation).
//! - `breaker/open_fail_fast`: a full `send()` while the breaker is open.
//! - `breaker/closed_overhead`: the breaker layer alone around a service that answers at once,
//!   against that service bare.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use servicekit::client::breaker::{BreakerLayer, CircuitBreaker};
use servicekit::client::{BreakerConfig, ClientConfig, ServiceClient};
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt, service_fn};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn server() -> String {
    let app = Router::new().route("/x", get(|| async { "ok" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn get_requests(c: &mut Criterion) {
    let rt = runtime();
    let base = rt.block_on(server());
    let bare = reqwest::Client::new();
    let client = ServiceClient::new("bench", &ClientConfig::new(base.clone())).unwrap();
    let url = format!("{base}/x");

    let mut group = c.benchmark_group("get");
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let res = bare.get(&url).send().await.unwrap();
            assert_eq!(res.bytes().await.unwrap().as_ref(), b"ok");
        });
    });
    group.bench_function("service_client", |b| {
        b.to_async(&rt).iter(|| async {
            let res = client.get("/x").send().await.unwrap();
            assert_eq!(res.bytes().as_ref(), b"ok");
        });
    });
    group.finish();
}

fn breaker(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("breaker");

    // Open: one refused connection opens a breaker with a long cooldown.
    let dead = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    });
    let mut config = ClientConfig::new(format!("http://{dead}"));
    config.retry.max_attempts = 1;
    config.breaker.consecutive_failures = 1;
    config.breaker.cooldown = Duration::from_secs(3600);
    let client = ServiceClient::new("bench-open", &config).unwrap();
    rt.block_on(async {
        assert!(client.get("/x").send().await.is_err());
    });
    group.bench_function("open_fail_fast", |b| {
        b.to_async(&rt).iter(|| async {
            assert!(client.get("/x").send().await.is_err());
        });
    });

    let ok = service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    group.bench_function("closed_bare_service", |b| {
        b.to_async(&rt).iter(|| async {
            ok.oneshot(Request::new(())).await.unwrap();
        });
    });
    let guarded =
        BreakerLayer::new(CircuitBreaker::new("bench", BreakerConfig::default())).layer(ok);
    group.bench_function("closed_overhead", |b| {
        b.to_async(&rt).iter(|| async {
            guarded.clone().oneshot(Request::new(())).await.unwrap();
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = get_requests, breaker
}
criterion_main!(benches);
