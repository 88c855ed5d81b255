//! `[clients.<name>]` from the environment: the underscore spelling of a hyphenated client
//! name configures that client, and a client nobody asks for stops startup naming the key.

use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary, enrol_new_student};

async fn ready(service: &ServiceProcess) {
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("not ready:\n{}", service.stderr()));
}

#[tokio::test]
async fn underscore_and_hyphen_variables_configure_the_hyphenated_client() {
    let students = ServiceProcess::start(&binary("student-service", "student-service"), &[]);
    ready(&students).await;
    let base = students.url("");
    let subject_exe = binary("subject-service", "subject-service");
    for (var, email) in [
        (
            "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL",
            "ada@example.org",
        ),
        (
            "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BASE_URL",
            "grace@example.org",
        ),
    ] {
        // The built-in default (http://127.0.0.1:8080) is not where student-service runs: the
        // enrolment can only succeed if the variable was applied to `student-service`.
        let subjects = ServiceProcess::start(&subject_exe, &[(var, base.as_str())]);
        ready(&subjects).await;
        let res = enrol_new_student(&students.api(), &subjects.api(), email).await;
        assert_eq!(
            res.status(),
            201,
            "{var} was not applied:\n{}",
            subjects.stdout()
        );
    }
}

#[test]
fn a_configured_client_that_no_code_asks_for_stops_startup() {
    let exe = binary("subject-service", "subject-service");
    let mut service = ServiceProcess::start(
        &exe,
        &[(
            "SERVICEKIT__CLIENTS__STUDENT_SERVCE__BASE_URL",
            "http://127.0.0.1:9",
        )],
    );
    let status = service
        .wait_exit(Duration::from_secs(20))
        .expect("startup fails and the process exits");
    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    for text in [
        "`clients.student-servce.base_url`",
        "environment variable `SERVICEKIT__CLIENTS__STUDENT_SERVCE__BASE_URL`",
        "never asks for it",
        "student-service",
    ] {
        assert!(stderr.contains(text), "missing {text:?} in:\n{stderr}");
    }
}
