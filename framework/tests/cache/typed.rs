//! The typed cache on the machine's Redis: get/set/delete, TTLs, negative caching,
//! single-flight, and values that no longer deserialise.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use servicekit::testing::eventually;

use super::{REDIS_URL, SHORT_TTL, metric, raw, service, start};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Student {
    id: u64,
    name: String,
}

fn ada() -> Student {
    Student {
        id: 1,
        name: "Ada".into(),
    }
}

#[tokio::test]
async fn set_get_and_delete_round_trip_under_the_prefix() {
    let (app, cache) = start(service(REDIS_URL)).await;

    assert_eq!(cache.get::<Student>("student:1").await.unwrap(), None);
    cache.set("student:1", &ada(), None).await.unwrap();
    assert_eq!(
        cache.get::<Student>("student:1").await.unwrap(),
        Some(ada())
    );

    // Stored under `<prefix>:<key>` with the default TTL (5 minutes).
    let mut redis = raw(REDIS_URL).await;
    let key = cache.key("student:1");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 300_000, "PTTL {ttl}");

    cache.delete("student:1").await.unwrap();
    assert_eq!(cache.get::<Student>("student:1").await.unwrap(), None);
    cache.delete("student:1").await.unwrap();
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn values_expire_after_their_ttl() {
    let (app, cache) = start(service(REDIS_URL)).await;
    cache.set("short", &ada(), Some(SHORT_TTL)).await.unwrap();
    assert_eq!(cache.get::<Student>("short").await.unwrap(), Some(ada()));
    eventually(|| async {
        match cache.get::<Student>("short").await {
            Ok(None) => Ok(()),
            other => Err(format!("still {other:?}")),
        }
    })
    .await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn get_or_load_loads_once_then_hits() {
    let (app, cache) = start(service(REDIS_URL)).await;
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Some(ada()))
    };
    assert_eq!(
        cache.get_or_load("s:1", None, load).await.unwrap(),
        Some(ada())
    );
    assert_eq!(
        cache.get_or_load("s:1", None, load).await.unwrap(),
        Some(ada())
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    // What get_or_load stored, get reads.
    assert_eq!(cache.get::<Student>("s:1").await.unwrap(), Some(ada()));

    // The loader's error is the caller's, and nothing is cached.
    let failed = cache
        .get_or_load::<Student, _, _, _>("s:2", None, || async {
            Err(std::io::Error::other("database down"))
        })
        .await;
    assert_eq!(failed.unwrap_err().to_string(), "database down");
    assert_eq!(cache.get::<Student>("s:2").await.unwrap(), None);

    for series in [
        "servicekit_cache_requests_total{result=\"hit\"}",
        "servicekit_cache_requests_total{result=\"miss\"}",
        "servicekit_cache_loads_total{outcome=\"value\"}",
        "servicekit_cache_loads_total{outcome=\"failed\"}",
    ] {
        assert!(metric(&app, series).await >= 1.0, "{series} on /metrics");
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("servicekit_cache_operation_duration_seconds_bucket{operation=\"get\""),
        "{text}"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn absent_values_are_remembered_for_the_negative_ttl() {
    let (app, cache) =
        start(service(REDIS_URL).set("cache.negative_ttl", format!("{}ms", SHORT_TTL.as_millis())))
            .await;
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<Option<Student>, std::io::Error>(None)
    };
    assert_eq!(cache.get_or_load("s:404", None, load).await.unwrap(), None);
    assert_eq!(cache.get_or_load("s:404", None, load).await.unwrap(), None);
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "the second call is a negative hit"
    );
    assert_eq!(cache.get::<Student>("s:404").await.unwrap(), None);

    // After the negative TTL the loader is asked again.
    eventually(|| async {
        cache.get_or_load("s:404", None, load).await.unwrap();
        match loads.load(Ordering::SeqCst) {
            1 => Err("the negative entry is still there"),
            _ => Ok(()),
        }
    })
    .await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_hundred_concurrent_misses_run_one_load() {
    let (app, cache) = start(service(REDIS_URL)).await;
    let loads = Arc::new(AtomicUsize::new(0));
    let calls = (0..100).map(|_| {
        let cache = cache.clone();
        let loads = Arc::clone(&loads);
        tokio::spawn(async move {
            cache
                .get_or_load("hot", None, || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    // A slow query, so that the calls overlap.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, std::io::Error>(Some(ada()))
                })
                .await
        })
    });
    let results = futures_util::future::join_all(calls).await;
    for result in results {
        assert_eq!(result.unwrap().unwrap(), Some(ada()));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for 100 misses");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_value_that_no_longer_deserialises_is_a_miss_and_is_overwritten() {
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct StudentV2 {
        id: u64,
        full_name: String,
    }
    let (app, cache) = start(service(REDIS_URL)).await;
    // Written by the previous version of the type...
    cache.set("s:1", &ada(), None).await.unwrap();
    // ...and in a format of no version at all.
    let mut redis = raw(REDIS_URL).await;
    let _: () = redis::cmd("SET")
        .arg(cache.key("s:2"))
        .arg("{\"id\":2}")
        .query_async(&mut redis)
        .await
        .unwrap();

    let misses = "servicekit_cache_requests_total{result=\"miss\"}";
    let before = metric(&app, misses).await;
    assert_eq!(cache.get::<StudentV2>("s:1").await.unwrap(), None);
    assert!(metric(&app, misses).await > before, "counted as a miss");

    for (key, id) in [("s:1", 1), ("s:2", 2)] {
        let loaded = cache
            .get_or_load(key, None, || async move {
                Ok::<_, std::io::Error>(Some(StudentV2 {
                    id,
                    full_name: "Ada Lovelace".into(),
                }))
            })
            .await
            .unwrap();
        assert_eq!(loaded.unwrap().id, id);
        // Overwritten: the new type reads it.
        let stored = cache.get::<StudentV2>(key).await.unwrap().unwrap();
        assert_eq!(stored.full_name, "Ada Lovelace");
    }
    app.shutdown().await.unwrap();
}
