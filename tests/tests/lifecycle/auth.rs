//! Auth fails closed outside development: a real binary with `SERVICEKIT_ENV=prod` and no
//! token issuer refuses to start, unless `auth.enabled = false` says so explicitly.

use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary};

#[test]
fn prod_without_an_issuer_refuses_to_start() {
    let exe = binary("student-service", "student-service");
    let mut service = ServiceProcess::start(&exe, &[("SERVICEKIT_ENV", "prod")]);

    let status = service.wait_exit(Duration::from_secs(10)).expect("exits");

    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    for text in [
        "`auth.issuers`",
        "[[auth.issuers]]",
        "auth.enabled = false",
        "`prod`",
    ] {
        assert!(stderr.contains(text), "missing {text:?} in:\n{stderr}");
    }
}

#[tokio::test]
async fn prod_with_auth_disabled_explicitly_starts_open_and_warns() {
    let exe = binary("student-service", "student-service");
    let service = ServiceProcess::start(
        &exe,
        &[
            ("SERVICEKIT_ENV", "prod"),
            ("SERVICEKIT__AUTH__ENABLED", "false"),
        ],
    );

    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("never ready; stderr:\n{}", service.stderr()));

    let res = reqwest::Client::new()
        .get(service.url("/students"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "open on purpose");
    let mut logs = String::new();
    for line in [
        "auth is DISABLED",
        "effective configuration",
        "\"starting\"",
    ] {
        logs = service.stdout_containing(line).await;
    }
    let warn = logs
        .lines()
        .find(|l| l.contains("auth is DISABLED"))
        .unwrap_or_else(|| panic!("no WARN in:\n{logs}"));
    assert!(warn.contains("\"level\":\"WARN\""), "{warn}");
    let report = logs
        .lines()
        .find(|l| l.contains("effective configuration"))
        .unwrap_or_else(|| panic!("no report in:\n{logs}"));
    assert!(report.contains("auth.enabled=false"), "{report}");
    let starting = logs
        .lines()
        .find(|l| l.contains("\"starting\""))
        .unwrap_or_else(|| panic!("no starting line in:\n{logs}"));
    assert!(starting.contains("\"auth\":\"DISABLED\""), "{starting}");
}

#[tokio::test]
async fn dev_without_an_issuer_stays_open_with_a_warning() {
    let exe = binary("student-service", "student-service");
    let service = ServiceProcess::start(&exe, &[("SERVICEKIT_ENV", "dev")]);

    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("never ready; stderr:\n{}", service.stderr()));

    let res = reqwest::Client::new()
        .get(service.url("/students"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    service.stdout_containing("auth is DISABLED").await;
}
