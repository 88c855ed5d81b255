//! `GET /students/{id}` through the shared cache (a real Redis on 127.0.0.1:6379, a prefix of
//! each test's own): cached reads, invalidation by `PUT` and `DELETE`, and a bypass when Redis
//! does not answer.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::helpers::{Backend, Spawned, spawn_with};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A `cache.prefix` no other test (or run) uses.
fn fresh_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("student-service-test:{test}:{}:{nanos}", std::process::id())
}

/// student-service on PostgreSQL with `cache.url` = `url` and `cache.prefix` = `prefix`.
async fn spawn_cached(url: &str, prefix: &str) -> Spawned {
    spawn_with(Backend::Postgres, |b| {
        b.set("cache", json!({ "url": url, "prefix": prefix }))
    })
    .await
}

/// The raw entry of student `id` in Redis, if any.
async fn entry(prefix: &str, id: &str) -> Option<String> {
    let client = redis::Client::open(REDIS_URL).expect("a valid Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis answers");
    redis::cmd("GET")
        .arg(format!("{prefix}:student:{id}"))
        .query_async(&mut connection)
        .await
        .expect("GET succeeds")
}

/// Creates a student and returns its body.
async fn created(app: &Spawned, name: &str, email: &str) -> Value {
    let res = app.create(name, email).await;
    assert_eq!(res.status(), 201);
    res.json().await.expect("a student body")
}

#[tokio::test]
async fn a_read_is_stored_in_redis_and_served_from_it() {
    let prefix = fresh_prefix("read");
    let app = spawn_cached(REDIS_URL, &prefix).await;
    let student = created(&app, "Ada Lovelace", "ada@example.com").await;
    let id = student["id"].as_str().expect("an id");
    assert_eq!(
        entry(&prefix, id).await,
        None,
        "creating does not fill the cache"
    );

    let res = app.get(&format!("/students/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), student);
    let stored = entry(&prefix, id)
        .await
        .expect("the read stored the student");
    assert!(stored.contains("Ada Lovelace"), "stored entry {stored}");

    // A change behind the service's back is not seen until the entry goes: the read is served
    // from Redis, not from the database.
    let db = app.database().await;
    sqlx::query(db.sql("UPDATE students SET name = $1 WHERE id = $2"))
        .bind("Changed Directly")
        .bind(id)
        .execute(db.pool())
        .await
        .expect("the row updates");
    let res = app.get(&format!("/students/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "Ada Lovelace");
}

#[tokio::test]
async fn an_update_invalidates_the_cached_student() {
    let prefix = fresh_prefix("update");
    let app = spawn_cached(REDIS_URL, &prefix).await;
    let student = created(&app, "Grace Hopper", "grace@example.com").await;
    let id = student["id"].as_str().expect("an id");
    let path = format!("/students/{id}");
    assert_eq!(app.get(&path).await.status(), 200);
    assert!(entry(&prefix, id).await.is_some(), "the read was cached");

    let res = app
        .put_json(
            &path,
            &json!({ "name": "Rear Admiral Hopper", "email": "grace@example.com" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        entry(&prefix, id).await,
        None,
        "the update removed the entry"
    );

    let res = app.get(&path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["name"],
        "Rear Admiral Hopper"
    );
}

#[tokio::test]
async fn a_delete_invalidates_the_cached_student() {
    let prefix = fresh_prefix("delete");
    let app = spawn_cached(REDIS_URL, &prefix).await;
    let student = created(&app, "Alan Turing", "alan@example.com").await;
    let id = student["id"].as_str().expect("an id");
    let path = format!("/students/{id}");
    assert_eq!(app.get(&path).await.status(), 200);
    assert!(entry(&prefix, id).await.is_some(), "the read was cached");

    assert_eq!(app.delete(&path).await.status(), 204);
    let res = app.get(&path).await;
    assert_eq!(res.status(), 404);
    // The 404 is remembered (negative caching) and served again from Redis.
    let stored = entry(&prefix, id).await.expect("the 404 is cached");
    assert!(stored.starts_with("n1"), "stored entry {stored}");
    assert_eq!(app.get(&path).await.status(), 404);
}

#[tokio::test]
async fn without_an_answering_redis_the_service_reads_and_writes_the_database() {
    // A port that was free a moment ago: nothing listens on it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its address").port()
    };
    let app = spawn_cached(
        &format!("redis://127.0.0.1:{closed}"),
        &fresh_prefix("bypass"),
    )
    .await;
    let student = created(&app, "Edsger Dijkstra", "edsger@example.com").await;
    let id = student["id"].as_str().expect("an id");
    let path = format!("/students/{id}");
    for _ in 0..3 {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), student);
    }
    let res = app
        .put_json(
            &path,
            &json!({ "name": "E. W. Dijkstra", "email": "edsger@example.com" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app.get(&path).await;
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "E. W. Dijkstra");
    assert_eq!(app.delete(&path).await.status(), 204);
    assert_eq!(app.get(&path).await.status(), 404);
}
