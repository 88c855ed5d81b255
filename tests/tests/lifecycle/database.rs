//! The real binary on PostgreSQL and MariaDB by `DATABASE_URL`, and an unreachable database.

use std::time::Duration;

use servicekit::testing::TestDatabase;
use servicekit_tests::{ServiceProcess, binary, free_port};

async fn serves_students(url: &str) {
    let exe = binary("student-service", "student-service");
    let service = ServiceProcess::start(&exe, &[("DATABASE_URL", url)]);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("not ready; stderr:\n{}", service.stderr()));
    let client = reqwest::Client::new();
    let res = client
        .post(service.url("/students"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let page: serde_json::Value = client
        .get(service.url("/students"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["email"], "ada@example.org");
}

#[tokio::test]
async fn student_service_runs_on_postgres_by_database_url() {
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    serves_students(db.url()).await;
}

#[tokio::test]
async fn student_service_runs_on_mariadb_by_database_url() {
    let db = TestDatabase::mysql().await.expect("test MariaDB");
    serves_students(db.url()).await;
}

#[tokio::test]
async fn an_unreachable_database_fails_startup_naming_the_redacted_url() {
    let exe = binary("student-service", "student-service");
    let port = free_port();
    let url = format!("postgres://app:topsecret@127.0.0.1:{port}/students");
    let mut service = ServiceProcess::start(
        &exe,
        &[
            ("DATABASE_URL", &url),
            ("SERVICEKIT__DATABASE__STARTUP_TIMEOUT", "1s"),
        ],
    );

    let status = service
        .wait_exit(Duration::from_secs(15))
        .expect("gives up");

    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("[redacted]"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "names the fix: {stderr}");
    assert!(!stderr.contains("topsecret"), "{stderr}");
    assert!(
        !service.stdout().contains("topsecret"),
        "logs never show the password"
    );
}
