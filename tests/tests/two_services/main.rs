//! student-service and subject-service together, in-process on loopback ports: enrolment goes
//! through the resilient client; when student-service stops, enrolment answers 503 quickly
//! while the rest of subject-service works; when it comes back on the same port, enrolment
//! recovers without restarting subject-service. `mtls` runs the real binaries on mutual TLS.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use servicekit::testing::{TestApp, eventually};
use servicekit_tests::SchoolClient;

mod events;
mod mtls;

/// student-service on a database file that outlives one process, so a restart keeps students.
fn students(db_file: &std::path::Path) -> servicekit::ServiceBuilder {
    student_service::service().set(
        "database.url",
        format!("sqlite://{}?mode=rwc", db_file.display()),
    )
}

/// The example services' API on `app`.
fn api(app: &TestApp) -> SchoolClient {
    SchoolClient::with_client(app.client().clone(), app.base_url())
}

async fn enrol(subjects: &TestApp, subject: &str, student: &str) -> (u16, Duration) {
    let started = Instant::now();
    let res = api(subjects).enrol(subject, student).await;
    let status = res.status().as_u16();
    if status >= 400 {
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    (status, started.elapsed())
}

#[tokio::test]
async fn enrolment_fails_fast_while_student_service_is_down_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("students.db");
    let student_app = TestApp::spawn(students(&db_file)).await.unwrap();
    let addr = student_app.addr();
    let subject_app = TestApp::spawn(
        subject_service::service()
            .set("clients.student-service.base_url", student_app.base_url())
            .set("clients.student-service.breaker.cooldown", "300ms"),
    )
    .await
    .unwrap();
    let ada = api(&student_app)
        .create_student("Ada", "ada@example.org")
        .await;
    let alan = api(&student_app)
        .create_student("Alan", "alan@example.org")
        .await;
    let subject = api(&subject_app)
        .create_subject("CS-101", "Programming")
        .await;

    // Both up: enrolment works.
    assert_eq!(enrol(&subject_app, &subject, &ada).await.0, 201);

    // student-service stops: 503 quickly, and the rest of subject-service keeps working.
    student_app.shutdown().await.unwrap();
    for _ in 0..5 {
        let (status, elapsed) = enrol(&subject_app, &subject, &alan).await;
        assert_eq!(status, 503);
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }
    let other = api(&subject_app)
        .create_subject("CS-102", "Algorithms")
        .await;
    let res = subject_app.get(&format!("/subjects/{other}")).await;
    assert_eq!(res.status(), 200);
    let res = subject_app
        .get(&format!("/subjects/{subject}/enrolments"))
        .await;
    assert_eq!(res.status(), 200);

    // student-service is back on the same port: enrolment recovers once the breaker lets a
    // probe through, without restarting subject-service.
    let student_app = TestApp::spawn_at(students(&db_file), addr).await.unwrap();
    eventually(|| async {
        let (status, _) = enrol(&subject_app, &subject, &alan).await;
        match status {
            201 => Ok(()),
            503 => Err("enrolment did not recover"),
            other => panic!("enrolment answered {other}, neither 201 nor 503"),
        }
    })
    .await;
    let list: Value = subject_app
        .get(&format!("/subjects/{subject}/enrolments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    subject_app.shutdown().await.unwrap();
    student_app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_client_table_names_the_key() {
    let err = TestApp::spawn(servicekit::Service::builder("needs-a-client").routes(
        |ctx: servicekit::Context| async move {
            ctx.client("billing")?;
            Ok::<_, servicekit::BoxError>(servicekit::axum::Router::new())
        },
    ))
    .await
    .unwrap_err();

    let message = err.to_string();
    assert!(message.contains("clients.billing"), "{message}");
}

#[tokio::test]
async fn an_invalid_client_setting_fails_startup_naming_key_and_origin() {
    let err = TestApp::spawn(
        subject_service::service().set("clients.student-service.retry.max_attempts", 0),
    )
    .await
    .unwrap_err();

    let message = err.to_string();
    assert!(
        message.contains("clients.student-service.retry.max_attempts"),
        "{message}"
    );
}

/// With auth on in both services, subject-service calls student-service with its own service
/// token (OAuth2 client credentials from the issuer), not with the end user's token: a user
/// allowed to enrol (`subjects:write`) but not to read students still enrols; a user without
/// a token is refused by subject-service itself.
#[tokio::test]
async fn enrolment_uses_a_service_token_from_client_credentials() {
    let issuer = servicekit::testing::TestIssuer::start().await;
    issuer.add_client("subject-service", "subject-service-secret-0123456789");
    let student_app = TestApp::spawn(student_service::service().set("auth", issuer.auth_config()))
        .await
        .unwrap();
    let mut auth = issuer.auth_config();
    auth["clients"] = json!({
        "student-service": {
            "token_url": issuer.token_url(),
            "client_id": "subject-service",
            "client_secret": "subject-service-secret-0123456789",
            "scopes": ["students:read"],
        }
    });
    let subject_app = TestApp::spawn(
        subject_service::service()
            .set("clients.student-service.base_url", student_app.base_url())
            .set("auth", auth),
    )
    .await
    .unwrap();
    let token = |scope: &str| issuer.token().scope(scope).sign();
    let student = api(&student_app)
        .bearer(&token("students:write"))
        .create_student("Ada", "ada@example.org")
        .await;
    let subjects = api(&subject_app);
    let subject = subjects
        .bearer(&token("subjects:write"))
        .create_subject("CS-1", "Programming")
        .await;

    let anonymous = subjects.enrol(&subject, &student).await;
    let enrolled = subjects
        .bearer(&token("subjects:write"))
        .enrol(&subject, &student)
        .await;

    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(enrolled.status(), 201, "{}", enrolled.text().await.unwrap());
    assert_eq!(issuer.token_requests(), 1, "one service token, cached");
}
