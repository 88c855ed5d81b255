//! Path routing from config, and a route pointed elsewhere by the environment's key.

use servicekit::testing::TestApp;

use crate::helpers::{Upstream, Upstreams, echoed, gateway, problem};

#[tokio::test]
async fn prefixes_route_to_their_upstream_with_the_path_unchanged() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| b).await;

    let students = echoed(gw.get("/students/42?x=1").await).await;
    let subjects = echoed(gw.get("/subjects").await).await;

    assert_eq!(students["upstream"], "students");
    assert_eq!(students["path"], "/students/42?x=1");
    assert_eq!(subjects["upstream"], "subjects");
    let res = gw.get("/studentsx").await;
    assert_eq!(res.status(), 404);
    assert_eq!(problem(res).await["status"], 404);
}

#[tokio::test]
async fn routes_come_from_app_routes() {
    let up = Upstreams::start().await;
    let gw = gateway(&up, |b| {
        b.set(
            "app.routes",
            serde_json::json!({ "/api/people": "student-service" }),
        )
    })
    .await;

    assert_eq!(
        echoed(gw.get("/api/people/1").await).await["upstream"],
        "students"
    );
    assert_eq!(gw.get("/students").await.status(), 404);
}

#[tokio::test]
async fn a_clients_base_url_points_its_route_elsewhere() {
    // What SERVICEKIT__CLIENTS__STUDENT_SERVICE__BASE_URL sets (the framework maps the
    // underscore form onto the `student-service` table).
    let up = Upstreams::start().await;
    let elsewhere = Upstream::start("elsewhere").await;
    let gw = TestApp::spawn(
        gateway::service()
            .set("clients.student-service.base_url", &elsewhere.url)
            .set("clients.subject-service.base_url", &up.subjects.url),
    )
    .await
    .unwrap();

    assert_eq!(
        echoed(gw.get("/students").await).await["upstream"],
        "elsewhere"
    );
    assert_eq!(up.students.hits(), 0);
}

#[tokio::test]
async fn real_services_answer_through_the_gateway() {
    let students = TestApp::spawn(student_service::service()).await.unwrap();
    let subjects = TestApp::spawn(
        subject_service::service().set("clients.student-service.base_url", students.base_url()),
    )
    .await
    .unwrap();
    let gw = TestApp::spawn(
        gateway::service()
            .set("clients.student-service.base_url", students.base_url())
            .set("clients.subject-service.base_url", subjects.base_url()),
    )
    .await
    .unwrap();

    let created = gw
        .post_json(
            "/students",
            &serde_json::json!({ "name": "Ada Lovelace", "email": "ada@example.org" }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = gw.get(&format!("/students/{id}")).await;
    assert_eq!(got.status(), 200);
    assert_eq!(gw.get("/subjects").await.status(), 200);
}
