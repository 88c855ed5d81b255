//! Authentication and scopes of `/students`: 401 without a valid token, 403 without the scope.

use serde_json::json;

use crate::helpers::{Backend, problem, spawn, spawn_with};
use crate::on_every_backend;

on_every_backend!(reads_need_students_read, writes_need_students_write);

async fn reads_need_students_read(backend: Backend) {
    let app = spawn(backend).await;
    let created: serde_json::Value = app
        .create("Ada", "ada@example.org")
        .await
        .json()
        .await
        .unwrap();
    let one = app.url(&format!("/students/{}", created["id"].as_str().unwrap()));

    for url in [app.url("/students"), one.clone()] {
        let res = app.anonymous().get(&url).send().await.unwrap();
        assert_eq!(res.status(), 401, "{url}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"student-service\""
        );
        problem(res).await;

        let writer_only = app.token("students:write");
        let res = app
            .anonymous()
            .get(&url)
            .bearer_auth(&writer_only)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{url}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"students:read\""), "{challenge}");
        assert_eq!(problem(res).await["status"], 403);

        let reader = app.token("students:read");
        let res = app
            .anonymous()
            .get(&url)
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
}

async fn writes_need_students_write(backend: Backend) {
    let app = spawn(backend).await;
    let reader = app.token("students:read");
    let body = json!({"name": "Grace", "email": "grace@example.org"});

    let res = app.app.post_json("/students", &body).await;
    assert_eq!(res.status(), 401);
    let res = app
        .anonymous()
        .post(app.url("/students"))
        .bearer_auth(&reader)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"students:write\"")
    );
    assert_eq!(problem(res).await["scope"], "students:write");

    let created: serde_json::Value = app
        .create("Grace", "grace@example.org")
        .await
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/students/{}", created["id"].as_str().unwrap()));
    let res = app
        .anonymous()
        .put(&url)
        .bearer_auth(&reader)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .anonymous()
        .delete(&url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Nothing changed: the student is still there.
    let res = app.client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn invalid_tokens_are_401_and_probes_stay_open() {
    let app = spawn(Backend::Sqlite).await;
    let expired = app
        .issuer
        .token()
        .scope("students:read")
        .expires_in(-600)
        .sign();
    let foreign = app
        .issuer
        .token()
        .scope("students:read")
        .audience("another-api")
        .sign();

    for (token, reason) in [
        (expired, "expired"),
        (foreign, "not meant for this service"),
        ("not-a-jwt".to_string(), "malformed"),
    ] {
        let res = app
            .anonymous()
            .get(app.url("/students"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{reason}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains(reason), "{challenge}");
        problem(res).await;
    }
    for path in ["/health/live", "/health/ready", "/health/startup"] {
        let res = app.app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn without_auth_the_demo_is_open() {
    let app = spawn_with(Backend::Sqlite, |b| b.set("auth.enabled", false)).await;

    let res = app
        .app
        .post_json(
            "/students",
            &json!({"name": "Open", "email": "open@example.org"}),
        )
        .await;

    assert_eq!(res.status(), 201);
    let res = app.app.get("/students").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn cognito_resource_server_scopes_work_by_configuration() {
    let app = spawn_with(Backend::Sqlite, |b| {
        b.set(
            "auth.scopes",
            json!({"students:read": "students-api/students.read",
                   "students:write": "students-api/students.write"}),
        )
    })
    .await;
    let cognito = app.token("students-api/students.read students-api/students.write");

    let res = app
        .anonymous()
        .post(app.url("/students"))
        .bearer_auth(&cognito)
        .json(&json!({"name": "Ada", "email": "ada@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .anonymous()
        .get(app.url("/students"))
        .bearer_auth(&cognito)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The default names no longer grant anything once mapped.
    let res = app
        .anonymous()
        .get(app.url("/students"))
        .bearer_auth(app.token("students:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("scope=\"students-api/students.read\""),
        "{challenge}"
    );
}
