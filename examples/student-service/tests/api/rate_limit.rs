//! `[rate_limit]` throttles each verified caller separately, inside auth.

use serde_json::json;

use crate::helpers::{Backend, bearer_token, problem, spawn_with};

#[tokio::test]
async fn each_subject_gets_its_own_bucket_and_a_429_problem_when_it_is_empty() {
    let service = spawn_with(Backend::Sqlite, |b| {
        b.set(
            "rate_limit",
            json!({"enabled": true, "per_second": 0.1, "burst": 2, "key": "subject"}),
        )
    })
    .await;
    for _ in 0..2 {
        let res = service.get("/students").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().contains_key("ratelimit-remaining"));
    }
    let res = service.get("/students").await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert_eq!(problem(res).await["status"], 429);

    // Another verified subject is not throttled by the first one's requests.
    let other = service
        .issuer
        .token()
        .subject("another-teacher")
        .scope("students:read")
        .sign();
    let res = service
        .anonymous()
        .get(service.url("/students"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A request without a valid token is refused by auth before it can spend anyone's bucket.
    let res = service
        .anonymous()
        .get(service.url("/students"))
        .bearer_auth(bearer_token(&service.issuer, "students:read") + "x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
