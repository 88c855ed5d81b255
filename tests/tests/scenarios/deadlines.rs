//! Deadlines on the real student-service binary and PostgreSQL: a trusted caller's deadline
//! that runs out answers 504 and saves nothing; an untrusted caller's header is ignored.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::json;
use servicekit::testing::TestDatabase;
use servicekit_tests::ServiceProcess;

use super::{ready, student_exe};

const TRUSTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const UNTRUSTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn client_from(addr: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn count(database: &TestDatabase, email_prefix: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database.url()).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM students WHERE email LIKE $1")
        .bind(format!("{email_prefix}%"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn a_post_past_a_trusted_deadline_answers_504_and_saves_nothing() {
    let database = TestDatabase::postgres().await.expect("test PostgreSQL");
    let mut service = ServiceProcess::start(
        &student_exe(),
        &[
            ("DATABASE_URL", database.url()),
            (
                "SERVICEKIT__SERVER__DEADLINE_TRUSTED_NETWORKS",
                "[\"127.0.0.1/32\"]",
            ),
        ],
    );
    ready(&service).await;
    let trusted = client_from(TRUSTED);
    let untrusted = client_from(UNTRUSTED);

    // A trusted caller with 1 ms left: each POST either makes it (201, saved) or answers 504
    // (nothing saved). Before the fix a 504 could come with the row committed.
    let mut created: i64 = 0;
    let mut timed_out = 0;
    for i in 0..40 {
        let res = trusted
            .post(service.url("/students"))
            .header("x-request-deadline-ms", "1")
            .json(&json!({"name": "Late", "email": format!("late-{i}@example.org")}))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            504 => {
                assert_eq!(res.headers()["content-type"], "application/problem+json");
                timed_out += 1;
            }
            other => panic!("unexpected status {other}: {}", res.text().await.unwrap()),
        }
    }
    assert!(timed_out > 0, "no POST ran out of its 1 ms");

    // An untrusted caller's header is ignored: even `0` (already spent) is served.
    let res = untrusted
        .post(service.url("/students"))
        .header("x-request-deadline-ms", "0")
        .json(&json!({"name": "Outside", "email": "outside-0@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = trusted
        .post(service.url("/students"))
        .header("x-request-deadline-ms", "0")
        .json(&json!({"name": "Inside", "email": "inside-0@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        504,
        "a trusted caller's spent deadline is not started"
    );

    // Stop the service (its pool closes, so no transaction is left pending), then count.
    service.terminate();
    let status = service.wait_exit(Duration::from_secs(30)).expect("exits");
    assert_eq!(status.code(), Some(0));
    println!("1 ms deadline: {created} created, {timed_out} answered 504");
    assert_eq!(
        count(&database, "late-").await,
        created,
        "only the POSTs answered 201 saved a row"
    );
    assert_eq!(count(&database, "outside-").await, 1);
    assert_eq!(count(&database, "inside-").await, 0);
}
