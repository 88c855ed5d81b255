//! `/metrics` parses with the official Prometheus parser and its label cardinality is bounded.

use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary, parse_prometheus};

#[tokio::test]
async fn metrics_are_valid_and_bounded_by_route_template() {
    let exe = binary("student-service", "student-service");
    let service = ServiceProcess::start(&exe, &[]);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    let client = reqwest::Client::new();
    for i in 0..1000u32 {
        let url = service.url(&format!("/students/01930000-0000-7000-8000-{i:012}"));
        assert_eq!(client.get(url).send().await.unwrap().status(), 404);
    }
    let created = client
        .post(service.url("/students"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let text = client
        .get(service.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = parse_prometheus(&text);

    let families = &parsed["families"];
    let requests = families["http_server_requests"]["samples"]
        .as_array()
        .expect("request counter");
    let by_id: f64 = requests
        .iter()
        .filter(|s| s[1]["route"] == "/students/{id}" && s[1]["status"] == "4xx")
        .map(|s| s[2].as_f64().unwrap())
        .sum();
    assert_eq!(
        by_id, 1000.0,
        "all 1,000 ids counted under one route template"
    );
    assert!(requests.len() < 20, "bounded series: {}", requests.len());
    assert!(
        !text.contains("01930000-0000-7000-8000-000000000999"),
        "no raw path in labels"
    );
    assert_eq!(
        families["http_server_request_duration_seconds"]["type"],
        "histogram"
    );
    for family in [
        "http_server_active_requests",
        "servicekit_build_info",
        "servicekit_db_pool_connections",
        "servicekit_db_pool_max_connections",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds",
    ] {
        assert!(
            families.get(family).is_some(),
            "missing {family} in:\n{text}"
        );
    }
    let build = &families["servicekit_build_info"]["samples"][0];
    assert_eq!(build[1]["service"], "student-service");
    assert_eq!(build[1]["version"], env!("CARGO_PKG_VERSION"));
}
