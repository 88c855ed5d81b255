//! student-service killed (SIGKILL) under enrolment load: subject-service's breaker opens,
//! enrolments answer 503 problem+json quickly, subject reads go on; after student-service
//! restarts on the same port, enrolments succeed again without restarting subject-service.

use std::time::Duration;

use servicekit_tests::ServiceProcess;

use super::{Load, api, percentile, ready, statuses, student_exe, subject_exe};

const COOLDOWN: &str = "3s";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn student_service_killed_breaker_opens_fast_503_then_recovers() {
    // student-service's database outlives its process, so a restart keeps the students.
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("students.db").display()
    );
    let student_env = [("DATABASE_URL", db_url.as_str())];
    let mut student = ServiceProcess::start(&student_exe(), &student_env);
    let student_port = student.port();
    let student_url = student.url("");
    let subjects = ServiceProcess::start(
        &subject_exe(),
        &[
            (
                "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BASE_URL",
                &student_url,
            ),
            (
                "SERVICEKIT__CLIENTS__STUDENT-SERVICE__BREAKER__COOLDOWN",
                COOLDOWN,
            ),
        ],
    );
    ready(&student).await;
    ready(&subjects).await;
    let client = reqwest::Client::new();
    let ids = api(&client, &student).create_students(20).await;
    let course = api(&client, &subjects)
        .create_subject("CS-101", "Programming")
        .await;

    // Enrolment load and subject reads, which do not need student-service.
    let mut load = Load::new();
    load.enrolments(&client, &subjects, &course, &ids);
    let (c, url) = (client.clone(), subjects.url(&format!("/subjects/{course}")));
    load.spawn("read", Duration::from_millis(5), move |_| c.get(&url));
    load.wait_for(Duration::from_secs(30), |o| {
        o.kind == "enrol" && o.is(&[409])
    })
    .await
    .expect("enrolments go through while student-service is up");

    // Kill student-service: the breaker opens.
    student.kill();
    let killed_at = load.now();
    let opened = load
        .wait_for(Duration::from_secs(30), |o| {
            o.at > killed_at && o.kind == "enrol" && o.detail.contains("circuit breaker open")
        })
        .await
        .expect("the breaker opens");
    // Measure while it is open (well inside the cooldown), then restart student-service.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted_at = load.now();
    let student = ServiceProcess::start_at(&student_exe(), student_port, &student_env);
    ready(&student).await;
    let recovered = load
        .wait_for(Duration::from_secs(60), |o| {
            o.at > restarted_at && o.kind == "enrol" && o.is(&[201, 409])
        })
        .await
        .expect("enrolments recover after the restart, without restarting subject-service");
    // Keep the load on the recovered service a little longer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcomes = load.stop().await;

    // While the breaker was open: every enrolment a fast 503 problem+json.
    let open: Vec<_> = outcomes
        .iter()
        .filter(|o| o.kind == "enrol" && o.at >= opened.at && o.at + o.elapsed < restarted_at)
        .collect();
    assert!(
        open.len() >= 10,
        "only {} enrolments while open",
        open.len()
    );
    for o in &open {
        assert!(o.is_problem_503(), "while open: {o:?}");
    }
    let latencies: Vec<_> = open.iter().map(|o| o.elapsed).collect();
    let (median, p99, max) = (
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        percentile(&latencies, 100),
    );
    // Whole outage: enrolments are answered (201/409 or a 503 problem), never hang, never 5xx
    // other than 503; reads never fail.
    for o in outcomes.iter().filter(|o| o.kind == "enrol") {
        assert!(o.is(&[201, 409]) || o.is_problem_503(), "{o:?}");
        assert!(o.elapsed < Duration::from_secs(6), "{o:?}");
    }
    let reads: Vec<_> = outcomes.iter().filter(|o| o.kind == "read").collect();
    for o in &reads {
        assert!(
            o.is(&[200]),
            "a subject read failed during the outage: {o:?}"
        );
    }
    let after: Vec<_> = outcomes
        .iter()
        // Half-open probes go first; the others follow once they succeeded.
        .filter(|o| o.kind == "enrol" && o.at > recovered.at + Duration::from_secs(1))
        .collect();
    assert!(
        after.iter().all(|o| o.is(&[201, 409])),
        "{}",
        statuses(&after)
    );
    println!(
        "breaker open {:?} after the kill; {} enrolments while open: median {median:?}, \
         p99 {p99:?}, max {max:?}; {} reads all 200; recovered {:?} after the restart",
        opened.at - killed_at,
        open.len(),
        reads.len(),
        recovered.at - restarted_at,
    );
    // The promise is "503 in < 50 ms"; the median carries it, the max only proves nothing
    // waits for a timeout (a loaded 2-core CI machine can stall any single request).
    assert!(median < Duration::from_millis(50), "median {median:?}");
    assert!(max < Duration::from_millis(500), "max {max:?}");
}
