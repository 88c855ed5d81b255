//! Propagation needs no code at the call and no exporter: the real subject-service, with no
//! OTLP endpoint, calls a recording downstream while handling an enrolment, and the call
//! carries the inbound request id, the caller's deadline and a `traceparent` of the request's
//! trace, whose id the JSON log lines carry too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::Value;
use servicekit_tests::{ServiceProcess, binary};

/// A stand-in student-service that knows every student and records the headers it gets.
async fn recording_students() -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = Router::new().route(
        "/students/{id}",
        get(move |headers: HeaderMap| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(headers);
                axum::Json(serde_json::json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_plain_client_call_carries_request_id_deadline_and_traceparent_without_otlp() {
    let (students_url, seen) = recording_students().await;
    let subjects = ServiceProcess::start(
        &binary("subject-service", "subject-service"),
        &[
            (
                "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL",
                &students_url,
            ),
            ("SERVICEKIT__LOG__FORMAT", "json"),
        ],
    );
    subjects
        .wait_for_status("/health/ready", 200, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("not ready: {}", subjects.stderr()));
    let api = subjects.api();
    let subject = api.create_subject("CS-101", "Programming").await;
    let res = api
        .enrolment(&subject, "01930000-0000-7000-8000-000000000001")
        .header("x-request-id", "req-enrol-7")
        .header("x-request-deadline-ms", "4000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let headers = seen
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("downstream called");
    assert_eq!(headers["x-request-id"], "req-enrol-7");
    let left: u64 = headers["x-request-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The client's own deadline is 5 s; only the caller's 4 s can bring it this low.
    assert!(left <= 4000, "caller's deadline carried on: {left}");
    let traceparent = headers
        .get("traceparent")
        .unwrap_or_else(|| panic!("no traceparent without an exporter: {headers:?}"))
        .to_str()
        .unwrap()
        .to_string();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1].len(), 32);
    assert_ne!(parts[1], "0".repeat(32));

    let finished: Value = subjects
        .log_line(|l| l["message"] == "request finished" && l["request_id"] == "req-enrol-7")
        .await;
    assert_eq!(
        finished["trace_id"], parts[1],
        "the log line carries the trace the downstream call belongs to"
    );
}
