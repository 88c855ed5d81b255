//! The shared cache against real Redis: the machine's server on 127.0.0.1:6379 (each test
//! under its own `cache.prefix`, so concurrent tests never meet), and private `redis-server`
//! processes on free ports for the tests that stop and start Redis.

mod config;
mod outage;
mod tls;
mod typed;

use std::time::Duration;

use axum::Router;
use serde_json::Value;
use servicekit::cache::Cache;
pub(crate) use servicekit::testing::RedisServer;
use servicekit::testing::TestApp;
use servicekit::{Service, ServiceBuilder};
use tokio::sync::oneshot;

/// The machine's Redis.
pub(crate) const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A fresh prefix for one test.
pub(crate) fn prefix() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// A service on `url` under a fresh prefix.
pub(crate) fn service(url: &str) -> ServiceBuilder {
    Service::builder("cache-test")
        .set("cache.url", url)
        .set("cache.prefix", prefix())
}

/// Starts `builder` with `routes` built around its cache; returns the app and the cache.
pub(crate) async fn start_with(
    builder: ServiceBuilder,
    routes: fn(Cache) -> Router,
) -> (TestApp, Cache) {
    let (send, receive) = oneshot::channel();
    let builder = builder.routes(move |ctx: servicekit::Context| async move {
        let cache = ctx.cache()?;
        let _ = send.send(cache.clone());
        Ok::<_, servicekit::BoxError>(routes(cache))
    });
    let app = TestApp::spawn(builder).await.expect("service starts");
    let cache = receive.await.expect("the route function ran");
    (app, cache)
}

/// Starts `builder` without routes of its own; returns the app and its cache.
pub(crate) async fn start(builder: ServiceBuilder) -> (TestApp, Cache) {
    start_with(builder, |_| Router::new()).await
}

/// A raw connection to `url`, for writing what the framework would not.
pub(crate) async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers")
}

/// The value of the series `name{labels}` on `/metrics`, 0 when absent.
pub(crate) async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The readiness body.
pub(crate) async fn readiness(app: &TestApp) -> (u16, Value) {
    let res = app.get("/health/ready").await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// Time for a short TTL to pass, polled with `eventually` by the tests (never asserted on).
pub(crate) const SHORT_TTL: Duration = Duration::from_millis(300);
