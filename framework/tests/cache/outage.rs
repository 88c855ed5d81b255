//! Redis stopped under load and started again, on a private `redis-server`: the cache path
//! never answers 5xx, readiness stays 200 with the cache degraded, the bypass is counted, and
//! hits resume without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use servicekit::cache::Cache;
use servicekit::testing::{TestApp, eventually};

use super::{RedisServer, metric, readiness, service, start_with};

/// Loads of `/items/{id}` across the test binary (only this file's tests count it).
static LOADS: AtomicUsize = AtomicUsize::new(0);

/// `/items/{id}` through `get_or_load`; `/cached/{id}` says what `get` finds.
fn routes(cache: Cache) -> Router {
    Router::new()
        .route("/items/{id}", get(item))
        .route("/cached/{id}", get(cached))
        .with_state(cache)
}

async fn item(State(cache): State<Cache>, Path(id): Path<u64>) -> Json<Option<u64>> {
    let found = cache
        .get_or_load(&format!("item:{id}"), None, || async move {
            LOADS.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(Some(id * 10))
        })
        .await;
    match found {
        Ok(value) => Json(value),
        Err(never) => match never {},
    }
}

async fn cached(State(cache): State<Cache>, Path(id): Path<u64>) -> String {
    match cache.get::<u64>(&format!("item:{id}")).await {
        Ok(Some(_)) => "hit".into(),
        Ok(None) => "miss".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// `n` concurrent requests over ten keys; every status.
async fn load(app: &Arc<TestApp>, n: u64) -> Vec<u16> {
    let calls = (0..n).map(|i| {
        let app = Arc::clone(app);
        tokio::spawn(async move {
            app.get(&format!("/items/{}", i % 10))
                .await
                .status()
                .as_u16()
        })
    });
    futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn redis_stopped_under_load_costs_no_5xx_and_recovers_without_restart() {
    let mut redis = RedisServer::start().await;
    let builder = service(&redis.url())
        .set("cache.timeout", "100ms")
        .set("cache.breaker_cooldown", "200ms");
    let (app, _cache) = start_with(builder, routes).await;
    let app = Arc::new(app);

    // Warm: every key loaded once, then hits.
    assert!(load(&app, 50).await.iter().all(|s| *s == 200));
    assert_eq!(app.get("/cached/3").await.text().await.unwrap(), "hit");
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200);
    assert_eq!(body["checks"]["cache"][0]["status"], "pass", "{body}");

    let bypass_before = metric(&app, "servicekit_cache_bypass_total{reason=\"error\"}").await
        + metric(&app, "servicekit_cache_bypass_total{reason=\"timeout\"}").await
        + metric(&app, "servicekit_cache_bypass_total{reason=\"open\"}").await;
    redis.stop();

    // Under load while Redis is down: every request answered from the loader.
    let statuses = load(&app, 200).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "statuses while Redis is down: {statuses:?}"
    );
    let bypass_after = metric(&app, "servicekit_cache_bypass_total{reason=\"error\"}").await
        + metric(&app, "servicekit_cache_bypass_total{reason=\"timeout\"}").await
        + metric(&app, "servicekit_cache_bypass_total{reason=\"open\"}").await;
    assert!(
        bypass_after >= bypass_before + 1.0,
        "bypass counted: {bypass_before} -> {bypass_after}"
    );
    assert!(
        app.get("/cached/3")
            .await
            .text()
            .await
            .unwrap()
            .starts_with("error")
    );

    // Readiness: still 200, the cache check warns.
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "warn", "{body}");
    assert_eq!(body["checks"]["cache"][0]["status"], "warn", "{body}");
    let output = body["checks"]["cache"][0]["output"].as_str().unwrap();
    assert!(output.contains("degraded"), "{output}");

    // Redis comes back (empty): the same service fills it again and hits resume.
    redis.resume().await;
    eventually(|| async {
        let status = app.get("/items/3").await.status().as_u16();
        let cached = app.get("/cached/3").await.text().await.unwrap();
        if status == 200 && cached == "hit" {
            Ok(())
        } else {
            Err(format!("/items/3 {status}, /cached/3 {cached}"))
        }
    })
    .await;
    let loads = LOADS.load(Ordering::SeqCst);
    assert!(load(&app, 50).await.iter().all(|s| *s == 200));
    eventually(|| async {
        // Every key is back in Redis once each was loaded again; then no load runs.
        let before = LOADS.load(Ordering::SeqCst);
        let statuses = load(&app, 20).await;
        match (
            statuses.iter().all(|s| *s == 200),
            LOADS.load(Ordering::SeqCst) - before,
        ) {
            (true, 0) => Ok(()),
            (ok, loads) => Err(format!("all 200: {ok}, loads in the round: {loads}")),
        }
    })
    .await;
    assert!(LOADS.load(Ordering::SeqCst) >= loads);
    eventually(|| async {
        match readiness(&app).await {
            (200, body) if body["checks"]["cache"][0]["status"] == "pass" => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    Arc::into_inner(app).unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn a_service_starts_while_redis_is_down_and_connects_when_it_comes_up() {
    let mut redis = RedisServer::start().await;
    redis.stop();
    let builder = service(&redis.url()).set("cache.connect_timeout", "200ms");
    let (app, cache) = start_with(builder, routes).await;
    // Ready (the cache is optional), the cache degraded, the route served from the loader.
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["cache"][0]["status"], "warn", "{body}");
    assert_eq!(
        app.get("/items/7")
            .await
            .json::<Option<u64>>()
            .await
            .unwrap(),
        Some(70)
    );

    redis.resume().await;
    eventually(|| async {
        cache
            .set("up", &1u8, None)
            .await
            .map_err(|e| e.to_string())?;
        match cache.get::<u8>("up").await {
            Ok(Some(1)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    app.shutdown().await.unwrap();
}
