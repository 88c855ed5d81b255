//! `store = "redis"`: replicas share one budget per client, answer exactly like the local store,
//! and follow `on_store_error` while Redis is down, recovering without a restart. The shared
//! tests use the machine's Redis (127.0.0.1:6379) under a fresh prefix each; the outage tests
//! stop and start a private `redis-server` on a free port.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use servicekit::server::RateLimitLayer;
use servicekit::testing::{RedisServer, TestApp, eventually};
use servicekit::{Context, Service};

use super::{get_from, header, header_u64};

const MACHINE_REDIS: &str = "redis://127.0.0.1:6379";

/// A key prefix no other test (or earlier run) uses.
fn fresh_prefix(test: &str) -> String {
    format!("servicekit-test-{test}-{}", uuid::Uuid::new_v4().simple())
}

/// The suite's routes (`super::routes`) behind a Redis-backed limiter on `redis_url`.
async fn spawn(rate_limit: Value, redis_url: &str) -> TestApp {
    let mut rate_limit = rate_limit;
    rate_limit["enabled"] = json!(true);
    rate_limit["store"] = json!("redis");
    let builder = Service::builder("rate-limit-redis-test")
        .set("rate_limit", rate_limit)
        .set("cache", json!({"url": redis_url}))
        .routes(super::routes);
    TestApp::spawn(builder).await.expect("service starts")
}

/// The same routes with the in-process store, for comparison.
async fn spawn_local(rate_limit: Value) -> TestApp {
    let mut rate_limit = rate_limit;
    rate_limit["enabled"] = json!(true);
    super::spawn(rate_limit, None).await
}

#[tokio::test]
async fn two_instances_share_one_budget() {
    let prefix = fresh_prefix("share");
    // A burst of 10 and one request per 100 s: the test ends long before anything refills.
    let config = json!({"per_second": 0.01, "burst": 10, "prefix": prefix});
    let a = spawn(config.clone(), MACHINE_REDIS).await;
    let b = spawn(config, MACHINE_REDIS).await;

    let mut allowed = 0;
    let mut remaining = Vec::new();
    for i in 0..20 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = get_from(app, "/hello", None).await;
        match res.status().as_u16() {
            200 => {
                allowed += 1;
                remaining.push(header_u64(&res, "ratelimit-remaining"));
            }
            429 => assert_eq!(header_u64(&res, "ratelimit-remaining"), 0),
            other => panic!("request {i}: status {other}"),
        }
    }
    // One budget: 10, not 10 per instance (20).
    assert_eq!(allowed, 10, "allowed over both instances");
    // The remaining count falls across both instances: one bucket.
    assert_eq!(remaining, (0..10).rev().collect::<Vec<u64>>());

    // Another prefix is another budget (another service, or a separate deployment).
    let other = spawn(
        json!({"per_second": 0.01, "burst": 10, "prefix": fresh_prefix("share-other")}),
        MACHINE_REDIS,
    )
    .await;
    assert_eq!(get_from(&other, "/hello", None).await.status(), 200);
    for app in [a, b, other] {
        app.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn headers_and_route_overrides_match_the_local_store() {
    let config = json!({"per_second": 0.5, "burst": 3, "prefix": fresh_prefix("same"),
        "routes": {"POST /students/{id}": {"per_second": 0.25, "burst": 2}}});
    let local = spawn_local(config.clone()).await;
    let redis = spawn(config, MACHINE_REDIS).await;

    let fields = |res: &reqwest::Response| {
        (
            res.status().as_u16(),
            [
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "retry-after",
            ]
            .map(|h| res.headers().get(h).map(|v| v.to_str().unwrap().to_owned())),
            res.headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned()),
        )
    };
    let mut seen = Vec::new();
    for (method, path) in [
        ("GET", "/hello"),
        ("POST", "/students/1"),
        ("GET", "/students"),
        ("POST", "/students/2"),
        ("GET", "/hello"),
        ("POST", "/students/3"),
        ("GET", "/hello"),
        ("POST", "/students"),
    ] {
        let mut got = Vec::new();
        for app in [&local, &redis] {
            let req = match method {
                "GET" => app.client().get(app.url(path)),
                _ => app.client().post(app.url(path)),
            };
            got.push(fields(&req.send().await.unwrap()));
        }
        assert_eq!(got[0], got[1], "{method} {path}: local vs redis");
        seen.push(got[0].0);
    }
    // The sequence exercised both buckets and both answers.
    assert_eq!(seen, [200, 200, 200, 200, 200, 429, 429, 429]);
    local.shutdown().await.unwrap();
    redis.shutdown().await.unwrap();
}

/// Sends requests to `/hello` from 4 tasks until `stop` is set; returns every status.
fn load(app: &TestApp, stop: Arc<AtomicBool>) -> tokio::task::JoinSet<Vec<u16>> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, stop) = (app.client().clone(), app.url("/hello"), stop.clone());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let res = client.get(&url).send().await.expect("a response");
                statuses.push(res.status().as_u16());
            }
            statuses
        });
    }
    tasks
}

/// The value of `servicekit_rate_limit_store_errors_total{policy}` on `app`'s `/metrics`.
async fn store_errors(app: &TestApp, policy: &str) -> u64 {
    let metrics = get_from(app, "/metrics", None).await.text().await.unwrap();
    metrics
        .lines()
        .find(|l| {
            l.starts_with("servicekit_rate_limit_store_errors_total")
                && l.contains(&format!("policy=\"{policy}\""))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// Stops Redis under load, then starts it again: `outage_status` is what every request gets
/// meanwhile; afterwards limiting resumes in the same process.
async fn outage_and_recovery(policy: &str, outage_status: u16) {
    let mut redis = RedisServer::start().await;
    // A burst that the load spends at once, refilled at 5 per second. A store timeout far
    // above the default: on a loaded machine a 50 ms answer can be late while Redis is up,
    // which fail_closed would answer 503 (a refused connection still fails at once).
    let app = spawn(
        json!({"per_second": 5, "burst": 5, "on_store_error": policy, "store_timeout": "1s",
               "prefix": fresh_prefix(policy)}),
        &redis.url(),
    )
    .await;

    // Before: Redis limits.
    let stop = Arc::new(AtomicBool::new(false));
    let before = load(&app, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let before: Vec<u16> = before.join_all().await.into_iter().flatten().collect();
    assert!(before.contains(&200) && before.contains(&429), "{before:?}");
    assert!(before.iter().all(|s| [200, 429].contains(s)), "{before:?}");

    // During: Redis is stopped while requests keep coming.
    let errors_before = store_errors(&app, policy).await;
    let stop = Arc::new(AtomicBool::new(false));
    let during = load(&app, stop.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    redis.stop();
    // Requests that were answered by Redis just before it went are over after this.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outage = get_from(&app, "/hello", None).await;
    assert_eq!(outage.status(), outage_status);
    if outage_status == 200 {
        assert!(outage.headers().get("ratelimit-limit").is_none());
    } else {
        assert_eq!(header(&outage, "content-type"), "application/problem+json");
        assert_eq!(header_u64(&outage, "retry-after"), 1);
        let body: Value = outage.json().await.unwrap();
        assert_eq!(body["status"], 503);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let during: Vec<u16> = during.join_all().await.into_iter().flatten().collect();
    let failed = during.iter().filter(|s| **s == outage_status).count();
    assert!(
        during.iter().all(|s| [200, 429, outage_status].contains(s)),
        "only the limiter's answers: {during:?}"
    );
    assert!(failed > 0, "{during:?}");
    // Every request that found Redis down is counted (with fail_open they are among the 200s).
    let errors = store_errors(&app, policy).await - errors_before;
    assert!(errors > 0, "no store errors counted");
    if outage_status == 503 {
        assert!(
            errors > failed as u64,
            "{errors} counted, {failed} + 1 answered 503"
        );
    }

    // After: the same process limits again once Redis is back.
    redis.resume().await;
    eventually(|| async {
        let res = get_from(&app, "/hello", None).await;
        if res.headers().get("ratelimit-limit").is_some() {
            Ok(())
        } else {
            Err(res.status())
        }
    })
    .await;
    let mut after = Vec::new();
    for _ in 0..10 {
        after.push(get_from(&app, "/hello", None).await.status().as_u16());
    }
    assert!(after.contains(&429), "limiting resumed: {after:?}");
    assert!(!after.contains(&503), "{after:?}");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn fail_open_lets_requests_through_while_redis_is_down_and_recovers() {
    outage_and_recovery("fail_open", 200).await;
}

#[tokio::test]
async fn fail_closed_answers_503_while_redis_is_down_and_recovers() {
    outage_and_recovery("fail_closed", 503).await;
}

#[tokio::test]
async fn the_redis_store_needs_the_cache_url() {
    let builder = Service::builder("rate-limit-redis-test")
        .set("rate_limit", json!({"enabled": true, "store": "redis"}))
        .routes(|ctx: Context| async move {
            Router::new()
                .route("/hello", get(|| async { "hello" }))
                .layer(ctx.rate_limit())
        });
    let Err(err) = TestApp::spawn(builder).await else {
        panic!("startup should fail without cache.url");
    };
    let message = err.to_string();
    assert!(
        message.contains("rate_limit.store") && message.contains("cache.url"),
        "{message}"
    );
}

/// `RateLimitLayer::redis` on a plain router shares buckets with the configured layer.
#[tokio::test]
async fn the_layer_on_a_plain_router_shares_the_bucket() {
    let prefix = fresh_prefix("plain");
    let config = json!({"per_second": 0.01, "burst": 2, "prefix": prefix});
    let app = spawn(config.clone(), MACHINE_REDIS).await;
    let mut section: servicekit::server::RateLimitConfig = serde_json::from_value(config).unwrap();
    section.enabled = true;
    let client = redis::Client::open(MACHINE_REDIS).unwrap();
    let connection = redis::aio::ConnectionManager::new(client).await.unwrap();
    let plain = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .layer(RateLimitLayer::redis(&section, &prefix, connection));
    use tower::ServiceExt;
    let res = plain
        .oneshot(
            axum::http::Request::get("/hello")
                .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    [127, 0, 0, 1],
                    1,
                ))))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ratelimit-remaining"], "1");
    let res = get_from(&app, "/hello", None).await;
    assert_eq!(header_u64(&res, "ratelimit-remaining"), 0);
    app.shutdown().await.unwrap();
}
