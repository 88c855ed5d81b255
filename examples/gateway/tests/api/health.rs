//! `/health/ready` reports each upstream; a down one is a warning, the others still serve.

use crate::helpers::{Upstream, Upstreams, gateway};

#[tokio::test]
async fn readiness_reports_each_upstream_and_a_down_one() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| b).await;

    let body: serde_json::Value = gw.get("/health/ready").await.json().await.unwrap();
    let checks = body.to_string();
    assert!(
        checks.contains("student-service") && checks.contains("subject-service"),
        "{body}"
    );

    // A gateway whose subject-service is down.
    let down = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let students = Upstream::start("students").await;
    let gw = servicekit::testing::TestApp::spawn(
        gateway::service()
            .set("clients.student-service.base_url", &students.url)
            .set("clients.subject-service.base_url", &down),
    )
    .await
    .unwrap();
    let res = gw.get("/health/ready").await;
    assert_eq!(
        res.status(),
        200,
        "the gateway still serves the other routes"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "warn", "{body}");
    let text = body.to_string();
    assert!(text.contains("subject-service"), "{body}");
    assert_eq!(gw.get("/students").await.status(), 200);
    let res = gw.get("/subjects").await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
}
