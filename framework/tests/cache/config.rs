//! Configuration of the cache: errors that name their key, a service without `cache.url`.

use axum::Router;
use servicekit::Service;
use servicekit::testing::TestApp;

use super::service;

async fn startup_error(builder: servicekit::ServiceBuilder) -> String {
    match TestApp::spawn(builder).await {
        Ok(_) => panic!("the service started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn bad_settings_stop_startup_naming_their_key() {
    for (key, value) in [
        ("cache.url", "http://127.0.0.1:6379"),
        ("cache.timeout", "0s"),
        ("cache.breaker_failures", "0"),
        ("cache.prefix", "two words"),
    ] {
        let message = startup_error(service("redis://127.0.0.1:6379").set(key, value)).await;
        assert!(message.contains(key), "{key}: {message}");
    }
    let message =
        startup_error(service("redis://127.0.0.1:6379").set("cache.ca_file", "/nonexistent.pem"))
            .await;
    assert!(message.contains("cache.ca_file"), "{message}");
    let password_only = Service::builder("cache-test").set("cache.password", "pw");
    let message = startup_error(password_only).await;
    assert!(message.contains("cache.password"), "{message}");
    assert!(!message.contains("pw\""), "{message}");
}

#[tokio::test]
async fn without_cache_url_the_context_says_which_key_to_set() {
    let builder = Service::builder("cache-test").routes(|ctx: servicekit::Context| async move {
        let error = ctx.cache().unwrap_err().to_string();
        assert!(error.contains("cache.url"), "{error}");
        assert!(error.contains("SERVICEKIT__CACHE__URL"), "{error}");
        Router::new()
    });
    let app = TestApp::spawn(builder).await.expect("service starts");
    let (status, body) = super::readiness(&app).await;
    assert_eq!(status, 200);
    assert!(body["checks"].get("cache").is_none(), "{body}");
    app.shutdown().await.unwrap();
}
