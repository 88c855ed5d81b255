//! The two services through events (issue 17): student-service publishes `student.deleted`
//! through its outbox, subject-service consumes it and removes the student's enrolments. Both
//! real binaries, on NATS JetStream at 127.0.0.1:4222 with a prefix of their own, so that
//! tests (and runs) sharing the broker do not meet.

use std::time::Duration;

use servicekit::testing::{TestDatabase, eventually};
use servicekit_tests::{SchoolClient, ServiceProcess, Verbatim, binary};

/// The broker the tests use; `.ci/run` starts it.
const NATS: &str = "nats://127.0.0.1:4222";

/// Fails loudly, naming the broker, when NATS is not listening: the tests never skip.
fn require_nats() {
    if std::net::TcpStream::connect_timeout(
        &"127.0.0.1:4222".parse().expect("an address"),
        Duration::from_secs(2),
    )
    .is_err()
    {
        panic!("NATS (with JetStream) is not reachable on 127.0.0.1:4222; these tests need it");
    }
}

/// A prefix no other test or run uses.
fn unique_prefix() -> String {
    format!("it{}", uuid::Uuid::now_v7().simple())
}

/// student-service's binary on events with `prefix` (SQLite in its working folder).
async fn student_service(prefix: &str) -> ServiceProcess {
    let service = ServiceProcess::start(
        &binary("student-service", "student-service"),
        &[
            ("SERVICEKIT__EVENTS__URL", NATS),
            ("SERVICEKIT__EVENTS__PREFIX", prefix),
        ],
    );
    ready(&service, "student-service").await;
    service
}

/// subject-service's binary on events with `prefix`, on `database` (which outlives the
/// process), calling `students`; on `port` when given (a restart where it was).
async fn subject_service(
    prefix: &str,
    database: &str,
    students: &ServiceProcess,
    port: Option<u16>,
) -> ServiceProcess {
    let exe = binary("subject-service", "subject-service");
    let base_url = students.url("");
    let env = [
        ("SERVICEKIT__EVENTS__URL", NATS),
        ("SERVICEKIT__EVENTS__PREFIX", prefix),
        ("DATABASE_URL", database),
        (
            "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BASE_URL",
            base_url.as_str(),
        ),
    ];
    let service = match port {
        Some(port) => ServiceProcess::start_at(&exe, port, &env),
        None => ServiceProcess::start(&exe, &env),
    };
    ready(&service, "subject-service").await;
    service
}

async fn ready(service: &ServiceProcess, name: &str) {
    if service
        .wait_for_status("/health/ready", 200, Duration::from_secs(60))
        .await
        .is_none()
    {
        panic!(
            "{name} never ready; stdout:\n{}\nstderr:\n{}",
            service.stdout(),
            service.stderr()
        );
    }
}

/// Waits until `subject` has exactly the enrolments `expected`.
async fn wait_for_enrolments(
    subjects: &SchoolClient,
    subject: &str,
    expected: &[&str],
    logs: impl Fn() -> String,
) {
    eventually(|| async {
        let mut enrolled = subjects.enrolled(subject).await;
        enrolled.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        if enrolled == want {
            Ok(())
        } else {
            Err(Verbatim(format!(
                "enrolments of {subject}: {enrolled:?}, expected {want:?}; subject-service's \
                 logs:\n{}",
                logs()
            )))
        }
    })
    .await;
}

#[tokio::test]
async fn deleting_a_student_removes_its_enrolments() {
    require_nats();
    let prefix = unique_prefix();
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let students = student_service(&prefix).await;
    let subjects = subject_service(&prefix, db.url(), &students, None).await;
    let (student_api, subject_api) = (students.api(), subjects.api());
    let ada = student_api.create_student("Ada", "ada@example.org").await;
    let alan = student_api.create_student("Alan", "alan@example.org").await;
    let maths = subject_api.create_subject("MATH-1", "Calculus").await;
    let physics = subject_api.create_subject("PHYS-1", "Mechanics").await;
    for subject in [&maths, &physics] {
        for student in [&ada, &alan] {
            assert_eq!(subject_api.enrol(subject, student).await.status(), 201);
        }
    }

    student_api.delete_student(&ada).await;

    for subject in [&maths, &physics] {
        wait_for_enrolments(&subject_api, subject, &[alan.as_str()], || {
            subjects.stdout()
        })
        .await;
    }
    // An update is published too, and changes nothing here.
    let res = reqwest::Client::new()
        .put(students.url(&format!("/students/{alan}")))
        .json(&serde_json::json!({"name": "Alan T.", "email": "alan@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    subjects
        .stdout_containing("student deleted: enrolments removed")
        .await;
}

#[tokio::test]
async fn a_student_deleted_while_subject_service_is_stopped_loses_its_enrolments_after_restart() {
    require_nats();
    let prefix = unique_prefix();
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let students = student_service(&prefix).await;
    let mut subjects = subject_service(&prefix, db.url(), &students, None).await;
    let (student_api, subject_api) = (students.api(), subjects.api());
    let ada = student_api.create_student("Ada", "ada@example.org").await;
    let alan = student_api.create_student("Alan", "alan@example.org").await;
    let subject = subject_api.create_subject("CS-1", "Programming").await;
    for student in [&ada, &alan] {
        assert_eq!(subject_api.enrol(&subject, student).await.status(), 201);
    }
    let port = subjects.port();
    subjects.terminate();
    assert!(
        subjects.wait_exit(Duration::from_secs(60)).is_some(),
        "subject-service did not stop"
    );

    // Published while nobody consumes: the durable consumer keeps its place.
    student_api.delete_student(&ada).await;
    let subjects = subject_service(&prefix, db.url(), &students, Some(port)).await;

    wait_for_enrolments(&subject_api, &subject, &[alan.as_str()], || {
        subjects.stdout()
    })
    .await;
}

#[tokio::test]
async fn without_events_url_the_services_run_and_events_wait_in_the_outbox() {
    let students = ServiceProcess::start(&binary("student-service", "student-service"), &[]);
    ready(&students, "student-service").await;
    let api = students.api();

    let ada = api.create_student("Ada", "ada@example.org").await;
    api.delete_student(&ada).await;

    students.stdout_containing("events.url is not set").await;
}

/// The same flow on Amazon SNS + SQS, emulated by moto's server: student-service publishes to
/// its SNS FIFO topic, subject-service consumes through its SQS FIFO queue.
#[tokio::test]
async fn on_sns_and_sqs_deleting_a_student_removes_its_enrolments() {
    let moto = servicekit::testing::MotoServer::start()
        .await
        .expect("moto_server runs (pip install 'moto[server]')");
    let prefix = unique_prefix();
    let mut env: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .filter(|(key, _)| key.starts_with("AWS_") && !key.starts_with("AWS_ENDPOINT"))
        .collect();
    env.extend([
        ("SERVICEKIT__EVENTS__URL", "sns://".to_string()),
        ("SERVICEKIT__EVENTS__PREFIX", prefix.clone()),
        (
            "SERVICEKIT__EVENTS__AWS__ENDPOINT_URL",
            moto.endpoint().to_string(),
        ),
    ]);
    let env_refs = |extra: &[(&'static str, String)]| -> Vec<(&str, String)> {
        env.iter().cloned().chain(extra.iter().cloned()).collect()
    };
    let students_env = env_refs(&[]);
    let students = ServiceProcess::start(
        &binary("student-service", "student-service"),
        &students_env
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    ready(&students, "student-service").await;
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let subjects_env = env_refs(&[
        ("DATABASE_URL", db.url().to_string()),
        (
            "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BASE_URL",
            students.url(""),
        ),
    ]);
    let subjects = ServiceProcess::start(
        &binary("subject-service", "subject-service"),
        &subjects_env
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    ready(&subjects, "subject-service").await;
    let (student_api, subject_api) = (students.api(), subjects.api());
    let subject = subject_api.create_subject("CS-2", "Systems").await;

    // An SNS topic delivers only to queues subscribed at the time: until subject-service's
    // queue is subscribed, a deletion reaches nobody. Delete warm-up students until one's
    // enrolment goes, so the subscription is in place. They enrol in a subject of their own:
    // the enrolment of a warm-up student deleted before the subscription stays.
    let warm_up = subject_api.create_subject("WARM-1", "Warm-up").await;
    eventually(|| async {
        let warm = student_api
            .create_student(
                "Warm",
                &format!("{}@example.org", uuid::Uuid::now_v7().simple()),
            )
            .await;
        assert_eq!(subject_api.enrol(&warm_up, &warm).await.status(), 201);
        student_api.delete_student(&warm).await;
        for _ in 0..20 {
            if !subject_api.enrolled(&warm_up).await.contains(&warm) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await; // pacing the polls
        }
        Err(Verbatim(format!(
            "the warm-up deletion never arrived; subject-service's logs:\n{}",
            subjects.stdout()
        )))
    })
    .await;

    let ada = student_api
        .create_student("Ada", "ada.sns@example.org")
        .await;
    let alan = student_api
        .create_student("Alan", "alan.sns@example.org")
        .await;
    for student in [&ada, &alan] {
        assert_eq!(subject_api.enrol(&subject, student).await.status(), 201);
    }
    student_api.delete_student(&ada).await;
    wait_for_enrolments(&subject_api, &subject, &[alan.as_str()], || {
        subjects.stdout()
    })
    .await;
}
