//! Cost of the rate limit per request: buckets in process (governor) against buckets in Redis
//! (`store = "redis"`, a private `redis-server` on a free loopback port, so that its CPU is
//! this bench's alone).
//!
//! `cargo bench -p servicekit --bench rate_limit --features rate-limit,cache,testing`
//!
//! The layer wraps a handler that answers at once, with a burst so large that nothing is
//! limited, and every request is a different client of 256 (so both stores look up and update
//! a bucket each time):
//!
//! - `rate_limit/none`, `rate_limit/local`, `rate_limit/redis`: one request through the router
//!   (`oneshot`), criterion's time per request: the latency the layer adds.
//! - then, printed after criterion: 64 concurrent requesters for 3 s per store, requests per
//!   second and CPU per request, of this process (`/proc/self/stat`) and of the Redis server
//!   (`INFO cpu`): the capacity the layer costs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use servicekit::server::{RateLimitConfig, RateLimitLayer};
use servicekit::testing::RedisServer;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config() -> RateLimitConfig {
    serde_json::from_value(serde_json::json!({
        "enabled": true, "per_second": 1e6, "burst": 1_000_000_000u32,
        "store_timeout": "1s"
    }))
    .unwrap()
}

/// The three routers: no limit, local buckets, Redis buckets under a fresh prefix.
async fn apps(redis: &str) -> Vec<(&'static str, Router)> {
    let route = || Router::new().route("/", get(|| async { "ok" }));
    let connection = redis::aio::ConnectionManager::new(redis::Client::open(redis).unwrap())
        .await
        .expect("the private Redis");
    let prefix = format!("servicekit-bench-{}", std::process::id());
    vec![
        ("none", route()),
        ("local", route().layer(RateLimitLayer::new(&config()))),
        (
            "redis",
            route().layer(RateLimitLayer::redis(&config(), &prefix, connection)),
        ),
    ]
}

fn request(i: u64) -> Request<Body> {
    let peer = SocketAddr::from(([10, 0, 0, (i % 256) as u8], 1000));
    Request::get("/")
        .extension(ConnectInfo(peer))
        .body(Body::empty())
        .unwrap()
}

async fn one(app: &Router, i: u64) {
    let res = app.clone().oneshot(request(i)).await.unwrap();
    assert_eq!(res.status(), 200);
}

fn per_request(c: &mut Criterion) {
    let rt = runtime();
    let redis = rt.block_on(RedisServer::start());
    let apps = rt.block_on(apps(&redis.url()));
    let mut group = c.benchmark_group("rate_limit");
    for (name, app) in &apps {
        let n = AtomicU64::new(0);
        group.bench_function(*name, |b| {
            b.to_async(&rt)
                .iter(|| one(app, n.fetch_add(1, Ordering::Relaxed)));
        });
    }
    group.finish();
    for (name, app) in &apps {
        throughput(&rt, &redis.url(), name, app);
    }
}

/// CPU seconds (user + system) of this process so far.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of stat(5), utime and stime, counted after the command's `)`.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// CPU seconds (user + system) of the Redis server so far.
fn redis_cpu(rt: &tokio::runtime::Runtime, redis: &str) -> f64 {
    rt.block_on(async {
        let mut c = redis::Client::open(redis)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .query_async(&mut c)
            .await
            .unwrap();
        info.lines()
            .filter(|l| l.starts_with("used_cpu_user:") || l.starts_with("used_cpu_sys:"))
            .map(|l| l.split(':').nth(1).unwrap().trim().parse::<f64>().unwrap())
            .sum()
    })
}

/// 64 requesters for 3 s: requests per second and CPU µs per request.
fn throughput(rt: &tokio::runtime::Runtime, redis: &str, name: &str, app: &Router) {
    const TASKS: usize = 64;
    let run = Duration::from_secs(3);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let (cpu0, redis0) = (process_cpu(), redis_cpu(rt, redis));
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let (app, stop, count) = (app.clone(), stop.clone(), count.clone());
            tasks.spawn(async move {
                let mut i = t as u64;
                while !stop.load(Ordering::Relaxed) {
                    one(&app, i).await;
                    i += TASKS as u64;
                    count.fetch_add(1, Ordering::Relaxed);
                    // Without Redis nothing in a request waits: yield, or the workers never
                    // drive the timer that ends the run.
                    tokio::task::yield_now().await;
                }
            });
        }
        tokio::time::sleep(run).await;
        stop.store(true, Ordering::Relaxed);
        tasks.join_all().await;
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, redis) = (process_cpu() - cpu0, redis_cpu(rt, redis) - redis0);
    let n = count.load(Ordering::Relaxed) as f64;
    println!(
        "rate_limit/{name}: {:.0} req/s with {TASKS} requesters; CPU per request: {:.2} µs in \
         process, {:.2} µs in Redis",
        n / elapsed,
        cpu / n * 1e6,
        redis / n * 1e6,
    );
}

criterion_group!(benches, per_request);
criterion_main!(benches);
