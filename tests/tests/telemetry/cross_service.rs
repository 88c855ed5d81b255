//! One trace across subject-service -> student-service, exported by both real binaries.

use std::time::Duration;

use servicekit_tests::{OtlpReceiver, ServiceProcess, binary, enrol_new_student};

/// Both real binaries exporting to one OTLP receiver, subject-service calling student-service,
/// each with `env` too; returns once both are ready.
async fn traced_pair(env: &[(&str, &str)]) -> (OtlpReceiver, ServiceProcess, ServiceProcess) {
    let receiver = OtlpReceiver::start(None);
    let endpoint = format!("http://127.0.0.1:{}", receiver.http_port);
    let mut common = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    common.extend_from_slice(env);
    let students = ServiceProcess::start(&binary("student-service", "student-service"), &common);
    let students_url = students.url("");
    let mut subject_env = common.clone();
    subject_env.push((
        "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BASE_URL",
        &students_url,
    ));
    let subjects =
        ServiceProcess::start(&binary("subject-service", "subject-service"), &subject_env);
    for service in [&students, &subjects] {
        service
            .wait_for_status("/health/ready", 200, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("not ready: {}", service.stderr()));
    }
    (receiver, students, subjects)
}

#[tokio::test]
async fn an_enrolment_is_one_trace_across_both_services() {
    let (receiver, students, subjects) = traced_pair(&[]).await;
    let res = enrol_new_student(&students.api(), &subjects.api(), "ada@example.org").await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let enrol = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["name"] == "POST /subjects/{id}/enrolments" && s["kind"] == 2
        })
        .await
        .unwrap_or_else(|| panic!("no enrolment span: {:?}", receiver.spans()));
    let trace = enrol["trace_id"].as_str().unwrap().to_string();
    let lookup = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["trace_id"] == trace.as_str() && s["name"] == "GET /students/{id}"
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "student lookup not in the same trace: {:?}",
                receiver.spans()
            )
        });
    let call = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["trace_id"] == trace.as_str() && s["kind"] == 3
        })
        .await
        .expect("client span exported");

    assert_eq!(enrol["service"], "subject-service");
    assert_eq!(enrol["attributes"]["http.response.status_code"], 201);
    assert_eq!(lookup["service"], "student-service");
    assert_eq!(lookup["kind"], 2, "server span");
    assert_eq!(lookup["attributes"]["http.response.status_code"], 200);
    assert_eq!(call["service"], "subject-service");
    assert_eq!(call["name"], "GET student-service");
    assert_eq!(
        lookup["parent_span_id"], call["span_id"],
        "student span is a child of the call"
    );
    let call_parent = call["parent_span_id"].as_str().unwrap();
    let spans = receiver.spans();
    let mut ancestor = spans
        .iter()
        .find(|s| s["span_id"] == call_parent)
        .expect("the call's parent is exported");
    // Walk up from the call to the enrolment server span.
    while ancestor["span_id"] != enrol["span_id"] {
        let parent = ancestor["parent_span_id"].as_str().unwrap();
        ancestor = spans
            .iter()
            .find(|s| s["span_id"] == parent)
            .unwrap_or_else(|| panic!("broken chain at {ancestor}"));
    }
}

/// A `student.deleted` event continues the trace of the request that staged it: the handler's
/// consumer span in subject-service has the `DELETE /students/{id}` span's trace, through the
/// CloudEvent's `traceparent` (outbox, relay, NATS JetStream at 127.0.0.1:4222, consumer).
#[tokio::test]
async fn an_event_handler_continues_the_trace_of_the_request_that_staged_it() {
    let prefix = format!("tr{}", uuid::Uuid::now_v7().simple());
    let (receiver, students, subjects) = traced_pair(&[
        ("SERVICEKIT__EVENTS__URL", "nats://127.0.0.1:4222"),
        ("SERVICEKIT__EVENTS__PREFIX", prefix.as_str()),
    ])
    .await;
    let student = students
        .api()
        .create_student("Ada", "ada@example.org")
        .await;
    students.api().delete_student(&student).await;

    let delete = receiver
        .wait_for(Duration::from_secs(15), |s| {
            s["name"] == "DELETE /students/{id}" && s["kind"] == 2
        })
        .await
        .unwrap_or_else(|| panic!("no delete span: {:?}", receiver.spans()));
    let trace = delete["trace_id"].as_str().unwrap().to_string();
    let handled = receiver
        .wait_for(Duration::from_secs(30), |s| {
            s["service"] == "subject-service"
                && s["kind"] == 5
                && s["attributes"]["event.type"] == "student.deleted"
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no consumer span in subject-service (is NATS up on 127.0.0.1:4222?): {:?}\n{}",
                receiver.spans(),
                subjects.stderr()
            )
        });
    assert_eq!(
        handled["trace_id"], trace,
        "the handler's span is in the delete request's trace"
    );
    assert_eq!(handled["attributes"]["event.source"], "student-service");
}
