//! References in a service's configuration, resolved at startup through moto and files.

use axum::Router;
use axum::routing::get;
use servicekit::testing::{MotoServer, TestApp};
use servicekit::{Context, Error, Service};

#[derive(serde::Deserialize)]
struct Settings {
    greeting: servicekit::secrets::Secret,
}

async fn app(ctx: Context) -> Result<Router, servicekit::BoxError> {
    let settings: Settings = ctx.settings()?;
    let reference = ctx
        .secret_reference("app.greeting")
        .unwrap_or("none")
        .to_string();
    let text = settings
        .greeting
        .expose_str()
        .unwrap_or_default()
        .to_string();
    Ok(Router::new().route(
        "/greeting",
        get(move || async move { format!("{text} from {reference}") }),
    ))
}

#[tokio::test]
async fn config_values_resolve_through_aws_and_files() {
    let moto = MotoServer::start().await.expect("moto_server runs");
    moto.client()
        .create_secret()
        .name("svc/greeting")
        .secret_string(r#"{"text":"hello"}"#)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token\n").unwrap();
    let builder = Service::builder("secret-config")
        .secret_provider(moto.provider())
        .set("app.greeting", "aws-sm://svc/greeting#text")
        .set("app.token", format!("file://{}", token.display()))
        .routes(app);

    let app = TestApp::spawn(builder).await.unwrap();

    let body = app.get("/greeting").await.text().await.unwrap();
    assert_eq!(body, "hello from aws-sm://svc/greeting#text");
    let ready: serde_json::Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(ready["checks"]["secrets"][0]["status"], "pass");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_secret_fails_startup_naming_key_origin_reference_and_provider() {
    let moto = MotoServer::start().await.expect("moto_server runs");
    let builder = Service::builder("secret-config")
        .secret_provider(moto.provider())
        .set("app.greeting", "aws-sm://svc/missing#text")
        .routes(app);

    let err = TestApp::spawn(builder).await.unwrap_err();

    let Error::Config(config) = &err else {
        panic!("expected a configuration error: {err}")
    };
    let problem = &config.problems()[0];
    assert_eq!(problem.key, "app.greeting");
    assert_eq!(problem.origin, "a value set in code (ServiceBuilder::set)");
    for part in [
        "`aws-sm://svc/missing#text`",
        "AWS Secrets Manager",
        "ResourceNotFoundException",
    ] {
        assert!(problem.message.contains(part), "{part} missing: {err}");
    }
}

/// The value of `servicekit_secret_age_seconds{reference="<reference>"}` in a scrape.
async fn secret_age(app: &TestApp, reference: &str) -> f64 {
    let body = app.get("/metrics").await.text().await.unwrap();
    let series = format!("servicekit_secret_age_seconds{{reference=\"{reference}\"}} ");
    body.lines()
        .find_map(|line| line.strip_prefix(&series))
        .unwrap_or_else(|| panic!("no {series} in:\n{body}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_secret_age_gauge_is_the_age_at_scrape_time() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token").unwrap();
    let reference = format!("file://{}", token.display());
    // No refresh happens during the test: only the scrape can move the gauge.
    let builder = Service::builder("secret-age")
        .set("secrets.refresh_interval", "1h")
        .set("app.greeting", reference.as_str())
        .routes(app);
    let app = TestApp::spawn(builder).await.unwrap();

    let first = secret_age(&app, &reference).await;
    let later =
        servicekit::testing::eventually_within(std::time::Duration::from_secs(30), || async {
            match secret_age(&app, &reference).await {
                later if later > first => Ok(later),
                later => Err(format!("the age {later} never grew past {first}")),
            }
        })
        .await;

    assert!(later < 60.0, "an age, not a timestamp: {later}");
    app.shutdown().await.unwrap();
}
