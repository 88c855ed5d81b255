//! Startup with the database in an RDS-style secret: the SDK's own endpoint variable, errors
//! that name the reference, and no secret value in logs or health bodies.

use std::time::Duration;

use servicekit::testing::{MotoServer, TestDatabase};
use servicekit_tests::{ServiceProcess, binary, free_port};

use super::pg::{Roles, admin, create_role, rds_secret};

fn with_moto<'a>(
    moto_env: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn an_rds_secret_opens_the_database_and_no_value_is_ever_printed() {
    let moto = MotoServer::start().await.expect("moto_server runs");
    let mut roles = Roles::new();
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let admin = admin(&db).await;
    let user = roles.name();
    // Characters that need URL-encoding around a marker no log line contains by chance: any
    // form of the password (raw, URL-encoded, inside the JSON) shows the marker.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let password = format!("Pw{marker}%/@:?#");
    create_role(&admin, &user, &password.replace('\'', "''")).await;
    let secret = rds_secret(&db, &user, &password);
    moto.client()
        .create_secret()
        .name("prod/student-db")
        .secret_string(&secret)
        .send()
        .await
        .unwrap();
    let exe = binary("student-service", "student-service");
    let moto_env = moto.env();

    // AWS_ENDPOINT_URL_SECRETS_MANAGER (from moto.env) is the only endpoint setting: the SDK
    // reads it through the standard chain.
    let mut service = ServiceProcess::start(
        &exe,
        &with_moto(
            &moto_env,
            &[
                ("SERVICEKIT__DATABASE__SECRET", "aws-sm://prod/student-db"),
                ("RUST_LOG", "debug"),
            ],
        ),
    );
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("not ready; stderr:\n{}", service.stderr()));
    let client = reqwest::Client::new();
    let created = client
        .post(service.url("/students"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut bodies = String::new();
    for path in [
        "/health/live",
        "/health/ready",
        "/health/startup",
        "/students",
    ] {
        bodies.push_str(
            &client
                .get(service.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    service.terminate();
    service
        .wait_exit(Duration::from_secs(30))
        .expect("exits after SIGTERM");

    let (stdout, stderr) = (service.stdout(), service.stderr());
    let sessions: Vec<String> =
        sqlx::query_scalar("SELECT usename::text FROM pg_stat_activity WHERE usename::text = $1")
            .bind(&user)
            .fetch_all(&admin)
            .await
            .unwrap();
    assert!(sessions.is_empty(), "the service's sessions ended with it");
    assert!(
        bodies.contains("\"secrets\""),
        "readiness reports the secrets check: {bodies}"
    );
    assert!(
        stdout.contains("database.secret=[redacted] (from aws-sm://prod/student-db)"),
        "the configuration report names the reference:\n{stdout}"
    );
    for (what, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("health bodies", &bodies),
    ] {
        assert!(!text.contains(&marker), "{what} shows the password");
    }
}

#[tokio::test]
async fn a_missing_secret_stops_startup_naming_key_origin_reference_and_aws_error() {
    let moto = MotoServer::start().await.expect("moto_server runs");
    let exe = binary("student-service", "student-service");
    let moto_env = moto.env();
    let mut service = ServiceProcess::start(
        &exe,
        &with_moto(
            &moto_env,
            &[(
                "SERVICEKIT__DATABASE__SECRET",
                "aws-sm://prod/nope#password",
            )],
        ),
    );

    let status = service.wait_exit(Duration::from_secs(30)).expect("exits");

    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    for part in [
        "`database.secret`",
        "environment variable `SERVICEKIT__DATABASE__SECRET`",
        "`aws-sm://prod/nope#password`",
        "AWS Secrets Manager",
        "ResourceNotFoundException",
    ] {
        assert!(stderr.contains(part), "missing {part:?} in:\n{stderr}");
    }
}

#[tokio::test]
async fn an_unreachable_secrets_manager_stops_startup_with_a_clear_error() {
    let exe = binary("student-service", "student-service");
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut service = ServiceProcess::start(
        &exe,
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint),
            ("DATABASE_URL", "aws-sm://prod/student-db#url"),
        ],
    );

    let status = service.wait_exit(Duration::from_secs(60)).expect("exits");

    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    for part in [
        "`database.url`",
        "environment variable `DATABASE_URL`",
        "`aws-sm://prod/student-db#url`",
        "cannot reach Secrets Manager",
    ] {
        assert!(stderr.contains(part), "missing {part:?} in:\n{stderr}");
    }
}
