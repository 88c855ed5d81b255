//! The deployment files ship authenticated and encrypted, and `deploy/validate.sh` says so.
//!
//! The token issuer each file configures is fed to the real student-service binary, with the
//! issuer swapped for an in-process one: the service must start with `SERVICEKIT_ENV=prod` and
//! answer 401 without a token and 200 with one, so the variable format the files use is the one
//! the framework reads. validate.sh is run on the shipped files (must pass) and on a copy with
//! the issuer left as a placeholder, TLS removed and the template left at its defaults (must
//! fail, naming each).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use servicekit::testing::{TestDatabase, TestIssuer};
use servicekit_tests::{ServiceProcess, binary};

use super::{at, named, read, repo, resource, string, yaml_docs};

const AUTH_FILE: &str = "deploy/kubernetes/auth.yaml";
const TEMPLATE_FILE: &str = "templates/service/deploy/kubernetes.yaml";
/// The machine's Redis, standing for the shared cache the deployment files name (so the
/// service starts with their `cache.url` and `rate_limit.store = "redis"` for real).
const LOCAL_REDIS: &str = "redis://127.0.0.1:6379";

/// The ConfigMap's issuer and audience (the values an operator sets).
fn config_map() -> (String, String) {
    let docs = yaml_docs(AUTH_FILE);
    let map = resource(&docs, "ConfigMap", "servicekit-auth", AUTH_FILE);
    (
        string(map, "/data/issuer", AUTH_FILE).to_string(),
        string(map, "/data/audience", AUTH_FILE).to_string(),
    )
}

/// A Kubernetes container's environment as the kubelet sets it: `configMapKeyRef`s read from
/// `config_map`, secrets from `secrets`, `$(VAR)` expanded. OTEL_*, SERVICEKIT__EVENTS__* and
/// PORT are left out (the test has no collector or broker at those addresses, and picks the
/// port).
fn kubernetes_env(
    container: &Value,
    config_map: &dyn Fn(&str, &str) -> String,
    secrets: &dyn Fn(&str) -> String,
    file: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for entry in container["env"].as_array().expect("env list") {
        let name = entry["name"].as_str().unwrap().to_string();
        let value = if let Some(v) = entry["value"].as_str() {
            env.iter().fold(v.to_string(), |v, (k, val)| {
                v.replace(&format!("$({k})"), val)
            })
        } else if let Some(r) = entry.pointer("/valueFrom/configMapKeyRef") {
            config_map(r["name"].as_str().unwrap(), r["key"].as_str().unwrap())
        } else if entry.pointer("/valueFrom/secretKeyRef").is_some() {
            secrets(&name)
        } else if entry.pointer("/valueFrom/fieldRef").is_some() {
            "test".to_string()
        } else {
            panic!("{file}: unexpected env entry {entry}");
        };
        env.push((name, value));
    }
    env.retain(|(k, _)| !ignored(k));
    env
}

/// The variables of a deployment file that name what the test does not run: the collector
/// (OTEL_*), the event broker (SERVICEKIT__EVENTS__*), and the port it picks.
fn ignored(name: &str) -> bool {
    name.starts_with("OTEL_") || name.starts_with("SERVICEKIT__EVENTS__") || name == "PORT"
}

/// Starts student-service with `env` and checks that it serves nothing without a valid token.
/// `cognito`: tokens are Cognito access tokens (`token_use`, `client_id` instead of `aud`).
async fn assert_authenticates(
    what: &str,
    env: &[(String, String)],
    issuer: &TestIssuer,
    cognito: bool,
) {
    let issuers = env
        .iter()
        .find(|(k, _)| k == "SERVICEKIT__AUTH__ISSUERS")
        .unwrap_or_else(|| panic!("{what}: sets no SERVICEKIT__AUTH__ISSUERS"));
    assert!(
        issuers.1.contains(issuer.issuer()),
        "{what}: the issuer is not the configured one: {}",
        issuers.1
    );
    assert!(
        env.iter()
            .any(|(k, v)| k == "SERVICEKIT_ENV" && v == "prod"),
        "{what}: runs with SERVICEKIT_ENV=prod"
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let service = ServiceProcess::start(&binary("student-service", "student-service"), &env);
    service
        .wait_for_status("/health/ready", 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("{what}: never ready; stderr:\n{}", service.stderr()));

    let client = reqwest::Client::new();
    let get = |token: Option<String>| {
        let mut req = client.get(service.url("/students"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let token = |token_use: &str| {
        let builder = issuer.token().scope("students:read");
        if cognito {
            builder
                .without_claim("aud")
                .claim("client_id", TestIssuer::AUDIENCE)
                .claim("token_use", token_use)
                .sign()
        } else {
            builder.sign()
        }
    };

    let anonymous = get(None).await.unwrap();
    assert_eq!(anonymous.status(), 401, "{what}: no token");
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{what}"
    );
    let valid = get(Some(token("access"))).await.unwrap();
    assert_eq!(valid.status(), 200, "{what}: valid token");
    if cognito {
        let id_token = get(Some(token("id"))).await.unwrap();
        assert_eq!(id_token.status(), 401, "{what}: a Cognito id token");
    }
}

#[test]
fn kubernetes_deployments_read_the_issuer_from_the_config_map() {
    let (issuer, audience) = config_map();
    assert!(
        issuer.starts_with("https://"),
        "{AUTH_FILE}: issuer {issuer}"
    );
    assert!(!audience.is_empty());
    for name in [student_service::NAME, subject_service::NAME] {
        let file = format!("deploy/kubernetes/{name}.yaml");
        let docs = yaml_docs(&file);
        let container = at(
            resource(&docs, "Deployment", name, &file),
            "/spec/template/spec/containers/0",
            &file,
        );
        for (var, key) in [("AUTH_ISSUER", "issuer"), ("AUTH_AUDIENCE", "audience")] {
            let entry = named(&container["env"], var).unwrap_or_else(|| panic!("{file}: {var}"));
            assert_eq!(
                entry.pointer("/valueFrom/configMapKeyRef"),
                Some(&serde_json::json!({"name": "servicekit-auth", "key": key})),
                "{file}: {var}"
            );
        }
        let issuers = super::env(container, "env", "SERVICEKIT__AUTH__ISSUERS", &file);
        assert!(issuers.contains("\"$(AUTH_ISSUER)\""), "{file}: {issuers}");
        assert!(
            issuers.contains("[\"$(AUTH_AUDIENCE)\"]"),
            "{file}: {issuers}"
        );
    }
}

#[test]
fn ecs_tasks_trust_the_same_issuer_as_kubernetes() {
    let (issuer, audience) = config_map();
    for name in [student_service::NAME, subject_service::NAME] {
        let file = format!("deploy/ecs/{name}.task-definition.json");
        let td = super::json(&file);
        let container = named(at(&td, "/containerDefinitions", &file), name).unwrap();
        let issuers = super::env(container, "environment", "SERVICEKIT__AUTH__ISSUERS", &file);
        assert!(
            issuers.contains(&format!("issuer = \"{issuer}\"")),
            "{file}: {issuers}"
        );
        assert!(issuers.contains(&format!("[\"{audience}\"]")), "{file}");
    }
}

#[test]
fn edges_terminate_tls() {
    let file = "deploy/kubernetes/ingress.yaml";
    let docs = yaml_docs(file);
    let ingress = resource(&docs, "Ingress", "servicekit", file);
    let host = string(ingress, "/spec/rules/0/host", file);
    assert_eq!(string(ingress, "/spec/tls/0/hosts/0", file), host);
    assert!(!string(ingress, "/spec/tls/0/secretName", file).is_empty());

    let file = "deploy/ecs/alb.json";
    let alb = super::json(file);
    assert_eq!(string(&alb, "/listener/Protocol", file), "HTTPS");
    assert!(string(&alb, "/listener/Certificates/0/CertificateArn", file).contains(":acm:"));
    assert_eq!(string(&alb, "/redirectListener/Protocol", file), "HTTP");
    assert_eq!(
        string(&alb, "/redirectListener/DefaultActions/0/Type", file),
        "redirect"
    );
    assert_eq!(
        string(
            &alb,
            "/redirectListener/DefaultActions/0/RedirectConfig/Protocol",
            file
        ),
        "HTTPS"
    );
}

#[tokio::test]
async fn the_kubernetes_auth_settings_make_the_real_service_authenticate() {
    let issuer = TestIssuer::start().await;
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let file = "deploy/kubernetes/student-service.yaml";
    let docs = yaml_docs(file);
    let container = at(
        resource(&docs, "Deployment", student_service::NAME, file),
        "/spec/template/spec/containers/0",
        file,
    );
    let env = kubernetes_env(
        container,
        &|map, key| {
            assert_eq!(map, "servicekit-auth");
            match key {
                "issuer" => issuer.issuer().to_string(),
                "audience" => TestIssuer::AUDIENCE.to_string(),
                other => panic!("{file}: unknown ConfigMap key {other}"),
            }
        },
        &|name| match name {
            "DATABASE_URL" => db.url().to_string(),
            "SERVICEKIT__CACHE__URL" => LOCAL_REDIS.to_string(),
            other => panic!("{file}: unexpected secret {other}"),
        },
        file,
    );
    assert_authenticates(file, &env, &issuer, true).await;
}

#[tokio::test]
async fn the_ecs_auth_settings_make_the_real_service_authenticate() {
    let (shipped_issuer, shipped_audience) = config_map();
    let issuer = TestIssuer::start().await;
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let file = "deploy/ecs/student-service.task-definition.json";
    let td = super::json(file);
    let container = named(
        at(&td, "/containerDefinitions", file),
        student_service::NAME,
    )
    .unwrap();
    let mut env: Vec<(String, String)> = container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let value = e["value"]
                .as_str()
                .unwrap()
                .replace(&shipped_issuer, issuer.issuer())
                .replace(&shipped_audience, TestIssuer::AUDIENCE);
            (e["name"].as_str().unwrap().to_string(), value)
        })
        .filter(|(k, _)| !ignored(k))
        .map(|(k, v)| match k.as_str() {
            // The ElastiCache endpoint and its AUTH token stand for the test's Redis.
            "SERVICEKIT__CACHE__URL" => (k, LOCAL_REDIS.to_string()),
            _ => (k, v),
        })
        .filter(|(k, _)| k != "SERVICEKIT__CACHE__PASSWORD")
        .collect();
    env.push(("DATABASE_URL".into(), db.url().to_string()));
    assert_authenticates(file, &env, &issuer, true).await;
}

#[tokio::test]
async fn the_template_s_auth_settings_make_the_real_service_authenticate() {
    let issuer = TestIssuer::start().await;
    let db = TestDatabase::postgres().await.expect("test PostgreSQL");
    let text = read(TEMPLATE_FILE)
        .replace("{{project-name}}", "generated-svc")
        .replace("{{api_host}}", "api.example.com");
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect(TEMPLATE_FILE))
        .collect();
    let map = resource(&docs, "ConfigMap", "generated-svc-auth", TEMPLATE_FILE);
    assert_eq!(map["data"]["issuer"], "{{auth_issuer}}");
    assert_eq!(map["data"]["audience"], "{{auth_audience}}");
    let container = at(
        resource(&docs, "Deployment", "generated-svc", TEMPLATE_FILE),
        "/spec/template/spec/containers/0",
        TEMPLATE_FILE,
    );
    let env = kubernetes_env(
        container,
        &|map, key| {
            assert_eq!(map, "generated-svc-auth");
            match key {
                "issuer" => issuer.issuer().to_string(),
                "audience" => TestIssuer::AUDIENCE.to_string(),
                other => panic!("{TEMPLATE_FILE}: unknown ConfigMap key {other}"),
            }
        },
        &|name| {
            assert_eq!(name, "DATABASE_URL", "{TEMPLATE_FILE}: the only secret");
            db.url().to_string()
        },
        TEMPLATE_FILE,
    );
    assert_authenticates(TEMPLATE_FILE, &env, &issuer, false).await;
}

/// Runs `deploy/validate.sh` of the tree at `root` (one Kubernetes version, to keep it short).
fn validate(root: &Path, extra_env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("deploy/validate.sh"))
        .env("KUBERNETES_VERSIONS", "1.31.0")
        .env_remove("AUTH_ISSUER")
        .env_remove("AUTH_AUDIENCE")
        .env_remove("TEMPLATE_DEFINES");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs deploy/validate.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Copies `deploy/` and `templates/service/` of the repository into a fresh folder.
fn copy_of_the_deploy_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("deploy"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("templates/service"))
        .arg(dir.path().join("templates"))
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} contains {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn validate_sh_accepts_the_shipped_deployment_files() {
    let (ok, out) = validate(&repo(), &[]);
    assert!(ok, "deploy/validate.sh failed:\n{out}");
    assert!(
        out.contains("templates/service/deploy/kubernetes.yaml"),
        "{out}"
    );
}

#[test]
fn validate_sh_rejects_unset_issuers_plain_http_and_weak_pods() {
    let copy = copy_of_the_deploy_files();
    let root = copy.path();
    let (issuer, audience) = config_map();
    // The operator never set the issuer (Kubernetes, ECS) or left a default (compose).
    edit(root, "deploy/kubernetes/auth.yaml", &issuer, "CHANGE_ME");
    edit(
        root,
        "deploy/ecs/subject-service.task-definition.json",
        &format!("[\\\"{audience}\\\"]"),
        "[\\\"<your app client id>\\\"]",
    );
    edit(
        root,
        "deploy/compose.yaml",
        "${AUTH_ISSUER:?set AUTH_ISSUER to your OpenID issuer URL}",
        "${AUTH_ISSUER:-https://idp.example.org}",
    );
    // No TLS at the edge.
    edit(
        root,
        "deploy/kubernetes/ingress.yaml",
        "  tls:\n    - hosts:\n        - api.example.com\n      secretName: api-example-com-tls\n",
        "",
    );
    edit(
        root,
        "deploy/ecs/alb.json",
        "\"Type\": \"redirect\"",
        "\"Type\": \"forward\"",
    );
    // A writable root filesystem and a probe that times out before the health check does.
    edit(
        root,
        "deploy/kubernetes/student-service.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    );
    edit(
        root,
        "deploy/kubernetes/subject-service.yaml",
        "            periodSeconds: 5\n            timeoutSeconds: 3",
        "            periodSeconds: 5\n            timeoutSeconds: 2",
    );

    // The template checked with its defaults: issuer and audience are CHANGE_ME.
    let (ok, out) = validate(root, &[("TEMPLATE_DEFINES", "api_host=api.example.com")]);

    assert!(!ok, "validate.sh passed:\n{out}");
    for expected in [
        "student-service.yaml: Deployment student-service: container student-service: \
         SERVICEKIT__AUTH__ISSUERS[0].issuer is unset (still 'CHANGE_ME')",
        "subject-service.task-definition.json: containerDefinitions[0] (subject-service): \
         SERVICEKIT__AUTH__ISSUERS[0].audiences is unset",
        "student-service.environment.SERVICEKIT__AUTH__ISSUERS: `AUTH_ISSUER` may be left unset",
        "Ingress servicekit: no `tls`",
        "`redirectListener` must only redirect to HTTPS",
        "container student-service: set securityContext.readOnlyRootFilesystem: true",
        "container subject-service: readinessProbe.timeoutSeconds (2) must be longer",
        "Deployment example-service: container example-service: \
         SERVICEKIT__AUTH__ISSUERS[0].issuer is unset (still 'CHANGE_ME')",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
}
