//! The `aws-sm` provider against moto's Secrets Manager, through the real AWS API.

use std::time::Duration;

use servicekit::health::{Health, HealthCheck, Status};
use servicekit::secrets::aws::sdk::primitives::Blob;
use servicekit::secrets::{SecretErrorKind, Secrets, SecretsConfig};
use servicekit::testing::{MotoServer, eventually};

async fn moto() -> MotoServer {
    MotoServer::start().await.expect("moto_server runs")
}

fn secrets(moto: &MotoServer, config: SecretsConfig) -> Secrets {
    Secrets::builder(config).provider(moto.provider()).build()
}

#[tokio::test]
async fn reads_string_json_and_binary_secrets() {
    let moto = moto().await;
    let client = moto.client();
    client
        .create_secret()
        .name("app/token")
        .secret_string("t0ken")
        .send()
        .await
        .unwrap();
    client
        .create_secret()
        .name("prod/student-db")
        .secret_string(r#"{"username":"app","password":"pw","port":5432}"#)
        .send()
        .await
        .unwrap();
    client
        .create_secret()
        .name("tls/key")
        .secret_binary(Blob::new(vec![0u8, 159, 146, 150]))
        .send()
        .await
        .unwrap();
    let secrets = secrets(&moto, SecretsConfig::default());

    let token = secrets.get("aws-sm://app/token").await.unwrap();
    let password = secrets
        .get("aws-sm://prod/student-db#password")
        .await
        .unwrap();
    let port = secrets.get("aws-sm://prod/student-db#port").await.unwrap();
    let key = secrets.get("aws-sm://tls/key").await.unwrap();

    assert_eq!(token.expose_str(), Some("t0ken"));
    assert_eq!(password.expose_str(), Some("pw"));
    assert_eq!(port.expose_str(), Some("5432"));
    assert_eq!(key.expose_bytes(), &[0u8, 159, 146, 150]);
    assert!(
        secrets.status().iter().all(|s| s.version.is_some()),
        "version ids kept"
    );
}

#[tokio::test]
async fn version_stages_and_ids_select_versions() {
    let moto = moto().await;
    let client = moto.client();
    let first = client
        .create_secret()
        .name("db")
        .secret_string("old")
        .send()
        .await
        .unwrap();
    client
        .put_secret_value()
        .secret_id("db")
        .secret_string("new")
        .send()
        .await
        .unwrap();
    let secrets = secrets(&moto, SecretsConfig::default());

    let current = secrets.get("aws-sm://db").await.unwrap();
    let previous = secrets
        .get("aws-sm://db?version-stage=AWSPREVIOUS")
        .await
        .unwrap();
    let by_id = format!("aws-sm://db?version-id={}", first.version_id().unwrap());
    let pinned = secrets.get(&by_id).await.unwrap();

    assert_eq!(current.expose_str(), Some("new"));
    assert_eq!(previous.expose_str(), Some("old"));
    assert_eq!(pinned.expose_str(), Some("old"));
}

#[tokio::test]
async fn a_missing_secret_names_reference_provider_and_aws_code() {
    let moto = moto().await;
    let secrets = secrets(&moto, SecretsConfig::default());

    let err = secrets
        .get("aws-sm://does/not/exist#password")
        .await
        .unwrap_err();

    assert_eq!(err.kind(), SecretErrorKind::NotFound);
    let text = err.to_string();
    assert!(text.starts_with("secret `aws-sm://does/not/exist#password` (AWS Secrets Manager provider): ResourceNotFoundException"), "{text}");
    assert!(text.contains("fix:"), "{text}");
}

#[tokio::test]
async fn an_unreachable_service_fails_a_first_fetch_and_keeps_the_last_good_value() {
    let mut moto = moto().await;
    moto.client()
        .create_secret()
        .name("db")
        .secret_string("pw")
        .send()
        .await
        .unwrap();
    let config = SecretsConfig {
        refresh_interval: Duration::from_millis(10),
        max_staleness: Duration::from_millis(10),
        ..SecretsConfig::default()
    };
    let secrets = secrets(&moto, config);
    secrets.get("aws-sm://db").await.unwrap();
    let health = Health::new(Duration::from_secs(5));
    health.register(secrets.health_check());

    moto.stop();

    let first = secrets.get("aws-sm://other").await.unwrap_err();
    assert_eq!(first.kind(), SecretErrorKind::Unavailable, "{first}");
    assert!(
        first.to_string().contains("cannot reach Secrets Manager"),
        "{first}"
    );
    assert_eq!(secrets.refresh_all().await, 1);
    let kept = secrets.get("aws-sm://db").await.unwrap();
    assert_eq!(kept.expose_str(), Some("pw"), "last good value");
    let check = secrets.health_check();
    let output = check.check().await.unwrap_err();
    assert!(output.contains("aws-sm://db"), "{output}");
    // The value is older than max_staleness (10ms) once the refresh has failed.
    eventually(|| async {
        match health.run_checks().await.status() {
            Status::Fail => Ok(()),
            other => Err(format!("readiness is {other:?}")),
        }
    })
    .await;
}
