//! Startup failures are typed errors that name the key or the fix, through the real `run_with`.

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::get;
use servicekit::{Error, Service, ServiceBuilder};
use tokio::net::TcpListener;

/// Runs `builder` on port 0 until startup fails (a successful start would hang: the test
/// would time out rather than pass).
async fn run(builder: ServiceBuilder) -> Error {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    builder
        .run_with(listener, std::future::pending())
        .await
        .expect_err("startup should fail")
}

/// A value serde_json cannot serialize: a map whose keys are not strings.
fn unserializable() -> BTreeMap<(u8, u8), u8> {
    BTreeMap::from([((1, 2), 3)])
}

#[tokio::test]
async fn a_value_set_in_code_that_cannot_be_serialized_fails_run_naming_the_key() {
    let builder = Service::builder("bad-set")
        .set("log.level", "off")
        .set("app.weights", unserializable());

    let error = run(builder).await;

    let Error::Config(config) = &error else {
        panic!("expected a configuration error, got {error:?}");
    };
    let problem = &config.problems()[0];
    assert_eq!(problem.key, "app.weights");
    assert_eq!(problem.origin, "a value set in code (ServiceBuilder::set)");
    assert!(
        problem.message.contains("cannot be serialized"),
        "{}",
        problem.message
    );
    assert!(error.to_string().contains("`app.weights`"), "{error}");
}

#[tokio::test]
async fn a_default_set_in_code_that_cannot_be_serialized_fails_run_naming_the_key() {
    let builder = Service::builder("bad-default")
        .set("log.level", "off")
        .default_value("app.weights", unserializable());

    let error = run(builder).await;

    let Error::Config(config) = &error else {
        panic!("expected a configuration error, got {error:?}");
    };
    assert_eq!(config.problems()[0].key, "app.weights");
    assert_eq!(
        config.problems()[0].origin,
        "a value set in code (ServiceBuilder::default_value)"
    );
}

#[tokio::test]
async fn routes_that_clash_with_the_probes_fail_startup_naming_the_keys_to_move_them() {
    let builder = Service::builder("clash")
        .set("log.level", "off")
        .routes(|_| async { Router::new().route("/health/live", get(|| async { "mine" })) });

    let error = run(builder).await;

    assert!(
        matches!(&error, Error::RouteClash { reason } if reason.contains("/health/live")),
        "{error:?}"
    );
    assert!(error.to_string().contains("health.*_path"), "{error}");
}

#[test]
fn an_openapi_document_that_cannot_be_serialized_says_so() {
    let json = serde_json::to_vec(&unserializable()).unwrap_err();

    let message = Error::OpenApi(json).to_string();

    assert!(
        message.starts_with("cannot serialize the OpenAPI document"),
        "{message}"
    );
}
