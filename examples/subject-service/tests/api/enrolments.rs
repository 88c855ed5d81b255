//! Enrolments, verified with student-service through the resilient client.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, Spawned, problem, spawn, spawn_with};
use crate::on_every_backend;

on_every_backend!(
    enrol_then_list,
    unknown_student_is_422_naming_student_id,
    duplicate_enrolment_is_409,
    unknown_subject_is_404,
    student_service_down_is_a_fast_503,
    enrolments_come_a_page_at_a_time,
    enrolments_of_an_unknown_subject_are_404,
    deleting_a_students_enrolments_leaves_the_others,
);

async fn enrol_then_list(backend: Backend) {
    let app = spawn(backend).await;
    let subject = app.subject("MATH-1").await;
    let ada = app.student("ada@example.org").await;
    let alan = app.student("alan@example.org").await;

    let res = app.enrol(&subject, &ada).await;

    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/subjects/{subject}/enrolments/{ada}"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["student_id"], ada.as_str());
    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, body);
    assert_eq!(app.enrol(&subject, &alan).await.status(), 201);
    let list: Value = app
        .get(&format!("/subjects/{subject}/enrolments"))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["student_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&ada.as_str()) && ids.contains(&alan.as_str()));
}

async fn unknown_student_is_422_naming_student_id(backend: Backend) {
    let app = spawn(backend).await;
    let subject = app.subject("MATH-2").await;

    let res = app
        .enrol(&subject, "01930000-0000-7000-8000-000000000000")
        .await;

    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "student_id");
    let res = app.enrol(&subject, "not-a-uuid").await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "student_id");
}

async fn duplicate_enrolment_is_409(backend: Backend) {
    let app = spawn(backend).await;
    let subject = app.subject("MATH-3").await;
    let student = app.student("dup@example.org").await;
    assert_eq!(app.enrol(&subject, &student).await.status(), 201);

    let res = app.enrol(&subject, &student).await;

    assert_eq!(res.status(), 409);
    problem(res).await;
}

async fn unknown_subject_is_404(backend: Backend) {
    let app = spawn(backend).await;
    let student = app.student("nosubject@example.org").await;

    let res = app
        .enrol("01930000-0000-7000-8000-000000000000", &student)
        .await;

    assert_eq!(res.status(), 404);
    problem(res).await;
}

async fn student_service_down_is_a_fast_503(backend: Backend) {
    let mut app = spawn_with(backend, |b| {
        b.set("clients.student-service.breaker.consecutive_failures", 2)
    })
    .await;
    let subject = app.subject("MATH-4").await;
    let student = app.student("down@example.org").await;
    app.students.take().unwrap().shutdown().await.unwrap();

    for _ in 0..3 {
        let started = Instant::now();
        let res = app.enrol(&subject, &student).await;
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key("retry-after"));
        problem(res).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // Everything else keeps working.
    assert_eq!(app.create("MATH-5", "Still here", 1).await.status(), 201);
}

/// The student ids of one page and its `next`.
async fn page(app: &Spawned, path: &str) -> (Vec<String>, Option<String>) {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    let body: Value = res.json().await.unwrap();
    let ids = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["student_id"].as_str().unwrap().to_string())
        .collect();
    (ids, body["next"].as_str().map(str::to_string))
}

async fn enrolments_come_a_page_at_a_time(backend: Backend) {
    let app = spawn(backend).await;
    let subject = app.subject("PAGE-1").await;
    let mut students = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let student = app.student(&format!("{name}@example.org")).await;
        assert_eq!(app.enrol(&subject, &student).await.status(), 201);
        students.push(student);
    }
    students.sort();
    let path = format!("/subjects/{subject}/enrolments");

    let (first, next) = page(&app, &format!("{path}?limit=2")).await;

    assert_eq!(first, students[..2]);
    assert_eq!(next.as_deref(), Some(students[1].as_str()));
    let (second, next) = page(&app, &format!("{path}?limit=2&after={}", students[1])).await;
    assert_eq!(second, students[2..]);
    assert_eq!(next, None);
    let (all, next) = page(&app, &path).await;
    assert_eq!(all, students);
    assert_eq!(next, None);
    for limit in ["0", "101"] {
        let res = app.get(&format!("{path}?limit={limit}")).await;
        assert_eq!(res.status(), 422, "limit={limit}");
        assert_eq!(problem(res).await["errors"][0]["field"], "limit");
    }
    let res = app.get(&format!("{path}?after=not-a-uuid")).await;
    assert_eq!(res.status(), 400);
}

async fn enrolments_of_an_unknown_subject_are_404(backend: Backend) {
    let app = spawn(backend).await;
    let unknown = "01930000-0000-7000-8000-000000000000";

    let res = app.get(&format!("/subjects/{unknown}/enrolments")).await;

    assert_eq!(res.status(), 404);
    let body = problem(res).await;
    assert_eq!(body["status"], 404);
    assert!(body["detail"].as_str().unwrap().contains(unknown), "{body}");
}

async fn deleting_a_students_enrolments_leaves_the_others(backend: Backend) {
    let app = spawn(backend).await;
    let maths = app.subject("DEL-1").await;
    let physics = app.subject("DEL-2").await;
    let ada = app.student("ada.del@example.org").await;
    let alan = app.student("alan.del@example.org").await;
    for subject in [&maths, &physics] {
        for student in [&ada, &alan] {
            assert_eq!(app.enrol(subject, student).await.status(), 201);
        }
    }
    let db = app.database().await;

    let mut conn = db.pool().acquire().await.unwrap();
    let deleted = subject_service::repo::delete_enrolments_of_student(&db, &mut conn, &ada)
        .await
        .unwrap();

    assert_eq!(deleted, 2);
    for subject in [&maths, &physics] {
        let (ids, _) = page(&app, &format!("/subjects/{subject}/enrolments")).await;
        assert_eq!(ids, std::slice::from_ref(&alan));
    }
    // Again (a redelivered event): nothing left to delete, and no error.
    let again = subject_service::repo::delete_enrolments_of_student(&db, &mut conn, &ada)
        .await
        .unwrap();
    assert_eq!(again, 0);
}
