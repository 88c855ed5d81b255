//! Canary weights, stickiness by cookie or by client, and `x-canary` forcing a version.

use serde_json::{Value, json};
use servicekit::testing::{TestApp, TestIssuer};

use crate::helpers::{Upstream, Upstreams, echoed, gateway};

/// A gateway whose student-service has a canary (`student-service-v2`) with `release`.
async fn with_canary(release: Value, auth: Option<&TestIssuer>) -> (Upstreams, Upstream, TestApp) {
    let up = Upstreams::start().await;
    let canary = Upstream::start("canary").await;
    let gw = gateway(&up, |b| {
        let b = b
            .set("clients.student-service-v2.base_url", &canary.url)
            .set("app.releases", json!({ "student-service": release }));
        match auth {
            Some(issuer) => b.set("auth", issuer.auth_config()),
            None => b,
        }
    })
    .await;
    (up, canary, gw)
}

#[tokio::test]
async fn a_ten_percent_canary_gets_about_a_tenth_of_the_requests() {
    let (up, canary, gw) =
        with_canary(json!({"canary": "student-service-v2", "weight": 10}), None).await;

    for _ in 0..1000 {
        assert_eq!(gw.get("/students").await.status(), 200);
    }

    // Binomial(1000, 0.1): mean 100, standard deviation 9.5; 50..150 is over five of them.
    let (stable, canaried) = (up.students.hits(), canary.hits());
    assert_eq!(stable + canaried, 1000);
    assert!(
        (50..=150).contains(&canaried),
        "canary got {canaried} of 1000"
    );
}

#[tokio::test]
async fn a_cookie_keeps_a_client_on_its_version() {
    let (_up, _canary, gw) = with_canary(
        json!({"canary": "student-service-v2", "weight": 50, "sticky": "cookie"}),
        None,
    )
    .await;
    let mut seen = std::collections::HashSet::new();

    for _ in 0..20 {
        let first = gw.get("/students").await;
        let cookie = first.headers()["set-cookie"].to_str().unwrap().to_string();
        let pair = cookie.split(';').next().unwrap().to_string();
        assert!(pair.starts_with("gw-release-student-service="), "{cookie}");
        let version = echoed(first).await["upstream"].clone();
        for _ in 0..5 {
            let res = gw
                .client()
                .get(gw.url("/students"))
                .header("cookie", &pair)
                .send()
                .await
                .unwrap();
            assert!(!res.headers().contains_key("set-cookie"));
            assert_eq!(echoed(res).await["upstream"], version, "{pair}");
        }
        seen.insert(version.to_string());
    }
    assert_eq!(seen.len(), 2, "both versions were drawn: {seen:?}");
}

#[tokio::test]
async fn sticky_by_client_gives_each_subject_one_version() {
    let issuer = TestIssuer::start().await;
    let (_up, _canary, gw) = with_canary(
        json!({"canary": "student-service-v2", "weight": 50, "sticky": "client"}),
        Some(&issuer),
    )
    .await;
    let mut seen = std::collections::HashSet::new();

    for i in 0..30 {
        let token = issuer.token().subject(&format!("user-{i}")).sign();
        let version = echoed(gw.bearer(&token).get("/students").await).await["upstream"].clone();
        for _ in 0..3 {
            let again = echoed(gw.bearer(&token).get("/students").await).await;
            assert_eq!(again["upstream"], version, "user-{i}");
        }
        seen.insert(version.to_string());
    }
    assert_eq!(
        seen.len(),
        2,
        "subjects spread over both versions: {seen:?}"
    );
}

#[tokio::test]
async fn x_canary_forces_a_version() {
    let (_up, _canary, gw) =
        with_canary(json!({"canary": "student-service-v2", "weight": 0}), None).await;
    let get = |value: &'static str| {
        gw.client()
            .get(gw.url("/students"))
            .header("x-canary", value)
            .send()
    };

    for _ in 0..5 {
        assert_eq!(
            echoed(get("always").await.unwrap()).await["upstream"],
            "canary"
        );
        assert_eq!(
            echoed(get("never").await.unwrap()).await["upstream"],
            "students"
        );
        assert_eq!(
            echoed(gw.get("/students").await).await["upstream"],
            "students"
        );
    }
}

#[tokio::test]
async fn a_release_naming_an_unknown_client_stops_startup() {
    let up = Upstreams::start().await;
    let err = TestApp::spawn(
        gateway::service()
            .set("clients.student-service.base_url", &up.students.url)
            .set("clients.subject-service.base_url", &up.subjects.url)
            .set(
                "app.releases",
                json!({"student-service": {"canary": "student-service-v3", "weight": 5}}),
            ),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("app.releases.student-service.canary"),
        "{message}"
    );
    assert!(
        message.contains("[clients.student-service-v3]"),
        "{message}"
    );
}
