//! A rolling restart of student-service under enrolment load through subject-service, whose
//! client knows both instances: each instance in turn gets SIGTERM (readiness 503, drain,
//! exit 0) and a replacement starts on its port; no enrolment fails at the client side.

use std::time::Duration;

use servicekit::testing::TestDatabase;
use servicekit_tests::ServiceProcess;

use super::{Load, api, ready, statuses, student_exe, subject_exe};

/// Replaces `old` with a new instance on the same port, the way an orchestrator does: SIGTERM,
/// readiness 503 during the drain, exit 0, then the new one starts and becomes ready.
async fn replace(mut old: ServiceProcess, env: &[(&str, &str)]) -> ServiceProcess {
    old.terminate();
    old.wait_for_status("/health/ready", 503, Duration::from_secs(5))
        .await
        .expect("readiness turns 503 on SIGTERM");
    let status = tokio::task::spawn_blocking(move || {
        let status = old.wait_exit(Duration::from_secs(60));
        (status, old.stdout())
    })
    .await
    .unwrap();
    match status {
        (Some(status), logs) => assert_eq!(status.code(), Some(0), "exit status; logs:\n{logs}"),
        (None, logs) => panic!("did not exit after SIGTERM; logs:\n{logs}"),
    }
    let new = ServiceProcess::start_at(&student_exe(), port_of(env), env);
    ready(&new).await;
    new
}

fn port_of(env: &[(&str, &str)]) -> u16 {
    env.iter()
        .find(|(k, _)| *k == "PORT")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_restart_of_two_instances_loses_no_request() {
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let ports = [servicekit_tests::free_port(), servicekit_tests::free_port()];
    let envs = ports.map(|port| port.to_string());
    let env = |i: usize| {
        [
            ("PORT", envs[i].as_str()),
            ("DATABASE_URL", db.url()),
            ("SERVICEKIT__SERVER__DRAIN_DELAY", "2s"),
            ("SERVICEKIT__SERVER__SHUTDOWN_TIMEOUT", "10s"),
        ]
    };
    // One after the other, so that the second finds the migrations applied.
    let first = ServiceProcess::start_at(&student_exe(), ports[0], &env(0));
    ready(&first).await;
    let second = ServiceProcess::start_at(&student_exe(), ports[1], &env(1));
    ready(&second).await;
    let instances = format!(
        "[\"http://127.0.0.1:{}\", \"http://127.0.0.1:{}\"]",
        ports[0], ports[1]
    );
    let subjects = ServiceProcess::start(
        &subject_exe(),
        &[(
            "SERVICEKIT__CLIENTS__STUDENT-SERVICE__INSTANCES",
            &instances,
        )],
    );
    ready(&subjects).await;
    let client = reqwest::Client::new();
    let ids = api(&client, &first).create_students(20).await;
    let course = api(&client, &subjects)
        .create_subject("CS-201", "Programming")
        .await;

    let mut load = Load::new();
    load.enrolments(&client, &subjects, &course, &ids);
    load.wait_for(Duration::from_secs(30), |o| o.is(&[409]))
        .await
        .expect("enrolments go through before the restart");

    let first = replace(first, &env(0)).await;
    let second = replace(second, &env(1)).await;
    let after = load.now();
    load.wait_for(Duration::from_secs(30), |o| {
        o.at > after && o.is(&[201, 409])
    })
    .await
    .expect("enrolments go on after the restart");
    let outcomes = load.stop().await;

    let all: Vec<_> = outcomes.iter().collect();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.is(&[201, 409])).collect();
    println!(
        "rolling restart: {} enrolments ({}), {} failed",
        all.len(),
        statuses(&all),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} failed requests, the first: {:#?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    drop((first, second, subjects));
}
