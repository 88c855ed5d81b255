//! Startup of student-service on the embedded SQLite default.

use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary};

#[tokio::test]
async fn student_service_is_ready_within_a_second_on_sqlite() {
    let exe = binary("student-service", "student-service");

    let service = ServiceProcess::start(&exe, &[]);
    let took = service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await;

    let took = took.unwrap_or_else(|| panic!("never ready; stderr:\n{}", service.stderr()));
    assert!(took < Duration::from_secs(1), "ready after {took:?}");
    let res = reqwest::Client::new()
        .post(service.url("/students"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The default SQLite file was created under ./data with its folder.
    let logs = service.stdout();
    assert!(logs.contains("data/student-service.db"), "{logs}");
}

#[tokio::test]
async fn the_healthcheck_subcommand_probes_the_running_service() {
    let exe = binary("student-service", "student-service");
    let service = ServiceProcess::start(&exe, &[]);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .expect("ready");
    let port = service.url("").rsplit(':').next().unwrap().to_string();
    let probe = |port: &str| {
        std::process::Command::new(&exe)
            .arg("healthcheck")
            .env("PORT", port)
            .env_remove("DATABASE_URL")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("probe runs")
    };

    assert!(probe(&port).status.success());
    let closed = servicekit_tests::free_port().to_string();
    let failed = probe(&closed);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains(&closed));
}
