//! Rate limiting end to end: real services on port 0 behind real HTTP, tokens from
//! `TestIssuer`, buckets keyed by IP (through a trusted proxy's `X-Forwarded-For`) and by the
//! verified subject, route overrides, and a concurrent load that must stay within the budget.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use servicekit::testing::{TestApp, TestIssuer};
use servicekit::{Context, Service};

#[cfg(feature = "cache")]
mod redis_store;

/// `/hello`, `/counted` (only one test calls it, so its counter is that test's: the metrics
/// recorder is global) and `/students`, rate-limited inside auth.
async fn routes(ctx: Context) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/counted", get(|| async { "counted" }))
        .route(
            "/students",
            get(|| async { "[]" }).post(|| async { "created" }),
        )
        .route("/students/{id}", post(|| async { "updated" }))
        .layer(ctx.rate_limit())
        .layer(ctx.auth())
}

async fn spawn(rate_limit: Value, auth: Option<Value>) -> TestApp {
    let mut builder = Service::builder("rate-limit-test")
        .set("rate_limit", rate_limit)
        .routes(routes);
    if let Some(auth) = auth {
        builder = builder.set("auth", auth);
    }
    TestApp::spawn(builder).await.expect("service starts")
}

async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app.client().get(app.url(path));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.expect("request sent")
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

fn header_u64(res: &reqwest::Response, name: &str) -> u64 {
    header(res, name).parse().unwrap()
}

#[tokio::test]
async fn burst_is_allowed_then_429_problem_with_headers() {
    let app = spawn(
        json!({"enabled": true, "per_second": 0.5, "burst": 3}),
        None,
    )
    .await;

    for expected_remaining in [2, 1, 0] {
        let res = get_from(&app, "/counted", None).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header_u64(&res, "ratelimit-limit"), 3);
        assert_eq!(header_u64(&res, "ratelimit-remaining"), expected_remaining);
        // Refilling the spent requests takes 2 s each.
        let reset = header_u64(&res, "ratelimit-reset");
        assert_eq!(reset, 2 * (3 - expected_remaining), "reset {reset}");
    }
    let res = get_from(&app, "/counted", None).await;
    assert_eq!(res.status(), 429);
    let retry_after = header_u64(&res, "retry-after");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(header_u64(&res, "ratelimit-limit"), 3);
    assert_eq!(header_u64(&res, "ratelimit-remaining"), 0);
    assert!(header_u64(&res, "ratelimit-reset") >= retry_after);
    assert_eq!(header(&res, "content-type"), "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["title"], "Too Many Requests");
    assert!(
        body["detail"].as_str().unwrap().contains("retry after"),
        "{body}"
    );

    // Probes are not throttled (the layer is on the service's routes only).
    let res = get_from(&app, "/health/live", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("ratelimit-limit").is_none());

    // The rejection is counted by route.
    let metrics = get_from(&app, "/metrics", None).await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_server_rate_limited_total") && l.contains("route=\"/counted\"")
        })
        .unwrap_or_else(|| panic!("no rate-limited counter in\n{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_separate_buckets() {
    let app = spawn(
        json!({"enabled": true, "per_second": 0.1, "burst": 1, "trusted_proxies": ["127.0.0.1"]}),
        None,
    )
    .await;

    assert_eq!(
        get_from(&app, "/hello", Some("203.0.113.1")).await.status(),
        200
    );
    assert_eq!(
        get_from(&app, "/hello", Some("203.0.113.1")).await.status(),
        429
    );
    assert_eq!(
        get_from(&app, "/hello", Some("203.0.113.2")).await.status(),
        200
    );
    // A client cannot escape its bucket by prepending a forged hop: the proxy's own entry
    // (the rightmost) is the one believed.
    let forged = get_from(&app, "/hello", Some("198.51.100.7, 203.0.113.1")).await;
    assert_eq!(forged.status(), 429);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = spawn(
        json!({"enabled": true, "per_second": 0.1, "burst": 1}),
        None,
    )
    .await;

    assert_eq!(
        get_from(&app, "/hello", Some("203.0.113.1")).await.status(),
        200
    );
    // A different claimed address from the same peer is still the same client.
    assert_eq!(
        get_from(&app, "/hello", Some("203.0.113.2")).await.status(),
        429
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn verified_subjects_have_separate_buckets_and_forged_tokens_do_not_count() {
    let issuer = TestIssuer::start().await;
    let app = spawn(
        json!({"enabled": true, "per_second": 0.1, "burst": 2, "key": "subject"}),
        Some(issuer.auth_config()),
    )
    .await;
    let call = |token: String| {
        let req = app.client().get(app.url("/hello")).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let ada = issuer.token().subject("ada").sign();
    let ada_again = issuer.token().subject("ada").expires_in(120).sign();
    let bob = issuer.token().subject("bob").sign();

    assert_eq!(call(ada.clone()).await.status(), 200);
    // A second token of the same subject shares the bucket.
    assert_eq!(call(ada_again).await.status(), 200);
    assert_eq!(call(ada.clone()).await.status(), 429);
    assert_eq!(call(bob).await.status(), 200);
    // A token with forged claims never reaches the limiter: auth answers 401 first, and the
    // subject's bucket stays empty.
    let (head, _) = ada.rsplit_once('.').unwrap();
    let forged = format!("{head}.c2lnbmF0dXJl");
    assert_eq!(call(forged).await.status(), 401);
    assert_eq!(call(ada).await.status(), 429);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn route_overrides_have_their_own_limit() {
    let app = spawn(
        json!({"enabled": true, "per_second": 0.1, "burst": 5,
               "routes": {"POST /students": {"per_second": 0.1, "burst": 1}}}),
        None,
    )
    .await;
    let post = |path: &str| {
        let req = app.client().post(app.url(path));
        async move { req.send().await.unwrap() }
    };

    let first = post("/students").await;
    assert_eq!(first.status(), 200);
    assert_eq!(header_u64(&first, "ratelimit-limit"), 1);
    assert_eq!(post("/students").await.status(), 429);
    // Other methods and routes use the default bucket, which the override did not touch.
    let res = get_from(&app, "/students", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header_u64(&res, "ratelimit-limit"), 5);
    assert_eq!(header_u64(&res, "ratelimit-remaining"), 4);
    // A templated route that is not overridden: the default bucket.
    assert_eq!(header_u64(&post("/students/7").await, "ratelimit-limit"), 5);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_load_stays_within_the_budget_without_server_errors() {
    const TASKS: usize = 8;
    const REQUESTS: usize = 200;
    const PER_SECOND: f64 = 50.0;
    const BURST: usize = 20;
    let app = spawn(
        json!({"enabled": true, "per_second": PER_SECOND, "burst": BURST}),
        None,
    )
    .await;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let client = app.client().clone();
        let url = app.url("/hello");
        tasks.spawn(async move {
            let mut statuses = Vec::with_capacity(REQUESTS);
            for _ in 0..REQUESTS {
                let res = client.get(&url).send().await.expect("request sent");
                statuses.push(res.status().as_u16());
            }
            statuses
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await.into_iter().flatten().collect();
    let elapsed = started.elapsed();

    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + limited, TASKS * REQUESTS, "only 200 and 429, no 5xx");
    // The budget: the burst plus the refill over the run (plus one request in flight at each
    // end of the measurement).
    let budget = BURST as f64 + PER_SECOND * elapsed.as_secs_f64() + 2.0;
    println!("{ok} allowed, {limited} limited in {elapsed:?}; budget {budget:.1}");
    assert!(
        (ok as f64) <= budget,
        "{ok} allowed in {elapsed:?}, budget {budget:.0}"
    );
    assert!(ok >= BURST, "{ok} allowed; the burst alone is {BURST}");
    assert!(limited > 0, "the load exceeded the rate in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(120), "does not hang");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_settings_fail_at_startup_naming_the_key() {
    for (section, key) in [
        (json!({"per_second": 0}), "rate_limit.per_second"),
        (json!({"key": "user"}), "rate_limit.key"),
        (
            json!({"routes": {"students": {"per_second": 1, "burst": 1}}}),
            "rate_limit.routes",
        ),
    ] {
        let builder = Service::builder("rate-limit-test")
            .set("rate_limit", section.clone())
            .routes(routes);
        let Err(err) = TestApp::spawn(builder).await else {
            panic!("{section}: startup should fail");
        };
        let message = err.to_string();
        assert!(message.contains(key), "{section}: {message}");
    }
}
