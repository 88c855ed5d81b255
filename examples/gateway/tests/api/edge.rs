//! At the edge: JWT verification, per-client rate limits, CORS.

use serde_json::json;
use servicekit::testing::TestIssuer;

use crate::helpers::{Upstreams, echoed, gateway, problem};

#[tokio::test]
async fn a_request_without_a_valid_token_stops_at_the_edge_and_a_valid_one_passes_through() {
    let up = Upstreams::start().await;
    let issuer = TestIssuer::start().await;
    let gw = gateway(&up, |b| b.set("auth", issuer.auth_config())).await;

    let res = gw.get("/students").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(problem(res).await["status"], 401);
    let res = gw.bearer("not-a-token").get("/students").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        up.students.hits(),
        0,
        "nothing unverified reached the upstream"
    );

    let token = issuer.token().subject("ada").scope("students:read").sign();
    let seen = echoed(gw.bearer(&token).get("/students").await).await["headers"].clone();
    assert_eq!(
        seen["authorization"],
        format!("Bearer {token}").as_str(),
        "the upstream verifies the same token again"
    );
}

#[tokio::test]
async fn each_client_gets_its_own_rate_limit() {
    let up = Upstreams::start().await;
    let issuer = TestIssuer::start().await;
    let gw = gateway(&up, |b| {
        b.set("auth", issuer.auth_config()).set(
            "rate_limit",
            json!({"enabled": true, "per_second": 0.1, "burst": 2, "key": "subject"}),
        )
    })
    .await;
    let ada = issuer.token().subject("ada").sign();
    let bob = issuer.token().subject("bob").sign();

    for _ in 0..2 {
        assert_eq!(gw.bearer(&ada).get("/students").await.status(), 200);
    }
    let res = gw.bearer(&ada).get("/students").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(problem(res).await["status"], 429);
    assert_eq!(
        gw.bearer(&bob).get("/subjects").await.status(),
        200,
        "bob has his own bucket"
    );
    assert_eq!(up.students.hits(), 2);
}

#[tokio::test]
async fn cors_preflights_are_answered_at_the_edge_without_a_token() {
    let up = Upstreams::start().await;
    let issuer = TestIssuer::start().await;
    let gw = gateway(&up, |b| {
        b.set("auth", issuer.auth_config()).set(
            "app.cors",
            json!({"allowed_origins": ["https://app.example.org"]}),
        )
    })
    .await;

    let preflight = |origin: &'static str| {
        gw.client()
            .request(reqwest::Method::OPTIONS, gw.url("/students"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let res = preflight("https://app.example.org").await.unwrap();

    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(up.students.hits(), 0, "the preflight did not go upstream");

    let other = preflight("https://evil.example").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_star_origin_with_credentials_stops_startup_naming_the_key() {
    let up = Upstreams::start().await;
    let err = servicekit::testing::TestApp::spawn(
        gateway::service()
            .set("clients.student-service.base_url", &up.students.url)
            .set("clients.subject-service.base_url", &up.subjects.url)
            .set(
                "app.cors",
                json!({"allowed_origins": ["*"], "allow_credentials": true}),
            ),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("app.cors.allowed_origins"),
        "{err}"
    );
}
