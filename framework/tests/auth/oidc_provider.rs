//! Against a real, independently written OpenID provider: the `oidc-provider` npm package,
//! run by `tests/oidc/server.mjs` on loopback.
//!
//! Needs Node.js and `npm ci --prefix tests/oidc`; without them these tests fail (never skip).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use servicekit::auth::{ClientCredentials, ClientCredentialsConfig, TokenSource};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::spawn_with_auth;

const RS256: &str = "urn:servicekit:rs256";
const ES256: &str = "urn:servicekit:es256";

/// A running `tests/oidc/server.mjs`; killed on drop.
struct Provider {
    _child: Child,
    url: String,
    http: reqwest::Client,
}

impl Provider {
    async fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{}/node_modules is missing: run `npm ci --prefix tests/oidc` (needs Node.js >= 20.19)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .args(["--port", "0"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("`node` runs (install Node.js >= 20.19)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read provider stdout") {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_string();
                }
            }
            panic!("tests/oidc/server.mjs exited before listening");
        })
        .await
        .expect("oidc-provider listening within 30 s");
        Self {
            _child: child,
            url,
            http: reqwest::Client::new(),
        }
    }

    fn client(&self, resource: &str) -> ClientCredentials {
        let config: ClientCredentialsConfig = serde_json::from_value(json!({
            "issuer": self.url,
            "client_id": "servicekit-client",
            "client_secret": "servicekit-secret",
            "scopes": ["students:read"],
            "resource": resource,
        }))
        .unwrap();
        ClientCredentials::new(config).unwrap()
    }

    async fn token(&self, resource: &str) -> String {
        let header = self.client(resource).authorization().await.expect("token");
        header
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_string()
    }

    async fn rotate(&self) -> Value {
        let res = self
            .http
            .post(format!("{}/admin/rotate", self.url))
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    async fn token_requests(&self) -> u64 {
        let stats: Value = self
            .http
            .get(format!("{}/admin/stats", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["token_requests"].as_u64().unwrap()
    }

    fn auth_config(&self) -> Value {
        json!({
            "algorithms": ["RS256", "ES256"],
            "jwks_min_refetch": "0s",
            "issuers": [{"issuer": self.url, "audiences": [RS256, ES256], "discovery": true}],
        })
    }
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn rs256_and_es256_access_tokens_are_accepted() {
    let provider = Provider::start().await;
    let app = spawn_with_auth(provider.auth_config()).await;

    for (resource, alg) in [(RS256, "RS256"), (ES256, "ES256")] {
        let token = provider.token(resource).await;
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(format!("{:?}", header.alg), alg);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));

        let res = app.bearer(&token).get("/students").await;
        assert_eq!(res.status(), 200, "{alg}");
        let me: Value = app.bearer(&token).get("/me").await.json().await.unwrap();
        assert_eq!(me["client_id"], "servicekit-client");
        assert_eq!(me["scopes"], json!(["students:read"]));
        // The token grants no write scope.
        let res = app.bearer(&token).post_json("/students", &json!({})).await;
        assert_eq!(res.status(), 403, "{alg}");
    }
}

#[tokio::test]
async fn key_rotation_at_the_provider_is_accepted_without_restart() {
    let provider = Provider::start().await;
    let app = spawn_with_auth(provider.auth_config()).await;
    let before = provider.token(RS256).await;
    assert_eq!(app.bearer(&before).get("/me").await.status(), 200);

    let rotated = provider.rotate().await;
    let after_rs = provider.token(RS256).await;
    let after_es = provider.token(ES256).await;

    assert_eq!(kid(&after_rs), rotated["rs256"].as_str().unwrap());
    assert_ne!(kid(&after_rs), kid(&before));
    assert_eq!(app.bearer(&after_rs).get("/me").await.status(), 200);
    assert_eq!(kid(&after_es), rotated["es256"].as_str().unwrap());
    assert_eq!(app.bearer(&after_es).get("/me").await.status(), 200);
}

#[tokio::test]
async fn client_credentials_are_single_flight_against_the_provider() {
    let provider = Provider::start().await;
    let tokens = provider.client(RS256);
    let before = provider.token_requests().await;

    let headers = futures_util::future::join_all((0..16).map(|_| tokens.authorization())).await;

    assert!(headers.iter().all(Result::is_ok));
    assert_eq!(provider.token_requests().await - before, 1);
}
