//! `promtool check metrics` accepts the `/metrics` of both real example services after every
//! path that records a metric has run: client calls, retries, breaker transitions, secret
//! refresh (success and failure), the verified-token cache and rate limiting.
//!
//! promtool is Prometheus' own checker (Debian/Ubuntu package `prometheus`). It fails on a
//! malformed exposition and warns (exit status 3) about families without HELP, counters
//! without `_total`, non-base units and the like; any output fails this test.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use servicekit::auth::Algorithm;
use servicekit::testing::{TestIssuer, eventually_within};
use servicekit_tests::{ServiceProcess, binary};

const INSTALL_HINT: &str = "promtool is required by this test: install it with \
     `apt-get install -y prometheus` (Debian/Ubuntu; it ships /usr/bin/promtool) or put the \
     promtool of a Prometheus release on PATH";

/// Runs `promtool check metrics` on `text`; returns its exit status and everything it printed.
fn promtool_check(text: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): {INSTALL_HINT}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("exposition written to promtool");
    let out = child.wait_with_output().expect("promtool finishes");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), printed)
}

async fn scrape(service: &ServiceProcess) -> String {
    reqwest::get(service.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls `/metrics` of `service` until it contains `needle`.
async fn eventually_metric(service: &ServiceProcess, needle: &str) -> String {
    eventually_within(Duration::from_secs(30), || async {
        let text = scrape(service).await;
        if text.contains(needle) {
            Ok(text)
        } else {
            Err(format!("no {needle} in:\n{text}"))
        }
    })
    .await
}

/// Asserts that promtool accepts `text` without a word, and that every family has HELP.
fn assert_clean(service: &str, text: &str) {
    let (status, printed) = promtool_check(text);
    assert!(
        status == Some(0) && printed.trim().is_empty(),
        "promtool check metrics on {service}: exit {status:?}\n{printed}\n--- exposition ---\n{text}"
    );
    for line in text.lines() {
        if let Some(family) = line
            .strip_prefix("# TYPE ")
            .and_then(|r| r.split(' ').next())
        {
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{service}: {family} has no HELP"
            );
        }
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn promtool_accepts_the_metrics_of_both_services_after_every_path() {
    // Fails loudly, with the install line, on a machine without promtool.
    let version = Command::new("promtool").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "{INSTALL_HINT} ({version:?})"
    );

    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // student-service verifies HS256 tokens whose key is a file secret refreshed every second.
    let key_file = write(dir.path(), "hs-key", issuer.hs_secret());
    let students_config = dir.path().join("students");
    std::fs::create_dir(&students_config).unwrap();
    write(
        &students_config,
        "default.toml",
        &format!(
            "[auth]\nalgorithms = [\"HS256\"]\n\n[[auth.issuers]]\nissuer = \"{}\"\naudiences = [\"{}\"]\nhs_secret = \"file://{key_file}\"\n\n[secrets]\nrefresh_interval = \"1s\"\n",
            issuer.issuer(),
            TestIssuer::AUDIENCE
        ),
    );
    // subject-service limits `GET /subjects` to one request, opens its breaker after two
    // failures, and forwards the caller's token (its default).
    let subjects_config = dir.path().join("subjects");
    std::fs::create_dir(&subjects_config).unwrap();
    write(
        &subjects_config,
        "default.toml",
        "[rate_limit]\nenabled = true\n\n[rate_limit.routes.\"GET /subjects\"]\nper_second = 0.001\nburst = 1\n\n\
         [clients.student-service.breaker]\nconsecutive_failures = 2\ncooldown = \"60s\"\n",
    );

    let mut students = ServiceProcess::start(
        &binary("student-service", "student-service"),
        &[("SERVICEKIT_CONFIG_DIR", students_config.to_str().unwrap())],
    );
    let students_url = students.url("");
    let subjects = ServiceProcess::start(
        &binary("subject-service", "subject-service"),
        &[
            ("SERVICEKIT_CONFIG_DIR", subjects_config.to_str().unwrap()),
            (
                "SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL",
                &students_url,
            ),
        ],
    );
    for service in [&students, &subjects] {
        service
            .wait_for_status("/health/ready", 200, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("not ready:\n{}", service.stdout()));
    }

    let token = issuer
        .token()
        .alg(Algorithm::HS256)
        .scope("students:read students:write")
        .sign();
    let student = students
        .api()
        .bearer(&token)
        .create_student("Ada", "ada@example.org")
        .await;
    let subject = subjects.api().create_subject("CS-101", "Programming").await;
    let enrolments = subjects.api().bearer(&token);
    let enrol = || enrolments.enrol(&subject, &student);
    // A successful call (the token is verified, then found in the cache), and a conflict.
    assert_eq!(enrol().await.status(), 201);
    assert_eq!(enrol().await.status(), 409);
    // The breaker's state gauge exists from the first call, before any transition.
    let text = scrape(&subjects).await;
    assert!(
        text.contains("servicekit_client_breaker_state{client=\"student-service\"} 0"),
        "breaker state gauge missing after the first call:\n{text}"
    );
    // Rate limiting: the second `GET /subjects` is refused.
    let list_subjects = || async { reqwest::get(subjects.url("/subjects")).await.unwrap() };
    assert_eq!(list_subjects().await.status(), 200);
    assert_eq!(list_subjects().await.status(), 429);

    // A secret refresh that fails: the key file is gone.
    std::fs::remove_file(&key_file).unwrap();
    let students_text =
        eventually_metric(&students, "servicekit_secret_refresh_failures_total").await;
    for family in [
        "servicekit_secret_age_seconds",
        "servicekit_auth_token_cache_hits_total",
        "servicekit_auth_token_cache_misses_total",
        "http_server_requests_total",
    ] {
        assert!(
            students_text.contains(family),
            "no {family} in:\n{students_text}"
        );
    }
    assert_clean("student-service", &students_text);

    // student-service goes away: connection failures are retried, then the breaker opens.
    students.kill();
    for _ in 0..3 {
        assert_eq!(enrol().await.status(), 503);
    }
    let subjects_text =
        eventually_metric(&subjects, "servicekit_client_breaker_transitions_total").await;
    for family in [
        "servicekit_client_requests_total",
        "servicekit_client_errors_total",
        "servicekit_client_request_duration_seconds",
        "servicekit_client_retries_total",
        "servicekit_client_breaker_state{client=\"student-service\"} 2",
        "http_server_rate_limited_total",
    ] {
        assert!(
            subjects_text.contains(family),
            "no {family} in:\n{subjects_text}"
        );
    }
    assert_clean("subject-service", &subjects_text);
}
