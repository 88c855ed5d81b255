//! Traces reach a real OTLP receiver with route-template names, W3C parent links and statuses;
//! JSON log lines carry the same ids; export failures never affect requests.

use std::time::{Duration, Instant};

use serde_json::Value;
use servicekit_tests::{OtlpReceiver, ServiceProcess, binary, free_port};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const UNKNOWN_STUDENT: &str = "/students/01930000-0000-7000-8000-000000000000";

fn traced_service(endpoint: &str, protocol: &str) -> ServiceProcess {
    let exe = binary("student-service", "student-service");
    ServiceProcess::start(
        &exe,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("SERVICEKIT__LOG__FORMAT", "json"),
        ],
    )
}

async fn exports_server_span(protocol: &str) {
    let receiver = OtlpReceiver::start(None);
    let port = match protocol {
        "grpc" => receiver.grpc_port,
        _ => receiver.http_port,
    };
    let service = traced_service(&format!("http://127.0.0.1:{port}"), protocol);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("not ready: {}", service.stderr()));

    let res = reqwest::Client::new()
        .get(service.url(UNKNOWN_STUDENT))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let span = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["trace_id"] == TRACE_ID && s["kind"] == 2
        })
        .await
        .unwrap_or_else(|| panic!("no span exported; got {:?}", receiver.spans()));
    assert_eq!(
        span["transport"],
        if protocol == "grpc" { "grpc" } else { "http" }
    );
    assert_eq!(span["name"], "GET /students/{id}");
    assert_eq!(
        span["parent_span_id"], PARENT_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(span["kind"], 2, "SPAN_KIND_SERVER");
    assert_eq!(span["service"], "student-service");
    assert_eq!(span["attributes"]["http.route"], "/students/{id}");
    assert_eq!(span["attributes"]["http.request.method"], "GET");
    assert_eq!(span["attributes"]["http.response.status_code"], 404);
    // The handler's own span (`#[tracing::instrument]`) is a child of the server span.
    let handler = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["trace_id"] == TRACE_ID && s["name"] == "get"
        })
        .await
        .expect("handler span exported");
    assert_eq!(handler["parent_span_id"], span["span_id"]);

    // The request's log lines carry the same trace and span ids, and the request id.
    let logs: Vec<Value> = service
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let finished = logs
        .iter()
        .find(|l| l["message"] == "request finished" && l["trace_id"] == TRACE_ID)
        .unwrap_or_else(|| panic!("no correlated log line in {logs:?}"));
    assert_eq!(finished["span_id"], span["span_id"]);
    assert!(
        finished["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );

    // A line logged inside the handler's own span carries the request's ids too.
    let res = reqwest::Client::new()
        .post(service.url("/students"))
        .header("x-request-id", "req-created-1")
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = service
        .log_line(|l| l["message"] == "student created")
        .await;
    assert_eq!(created["request_id"], "req-created-1");
    assert_eq!(created["span"], "create");
    assert_eq!(created["trace_id"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn spans_export_over_http_protobuf() {
    exports_server_span("http/protobuf").await;
}

#[tokio::test]
async fn spans_export_over_grpc() {
    exports_server_span("grpc").await;
}

async fn requests_unaffected_by(endpoint: String) {
    let service = traced_service(&endpoint, "http/protobuf");
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    let client = reqwest::Client::new();
    let started = Instant::now();
    for _ in 0..50 {
        let res = client.get(service.url("/students")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    // Export runs on its own thread: 50 requests take nowhere near one export timeout (10 s).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_failing_receiver_never_affects_requests() {
    let receiver = OtlpReceiver::start(Some(503));
    requests_unaffected_by(format!("http://127.0.0.1:{}", receiver.http_port)).await;
}

#[tokio::test]
async fn an_unreachable_receiver_never_affects_requests() {
    requests_unaffected_by(format!("http://127.0.0.1:{}", free_port())).await;
}
