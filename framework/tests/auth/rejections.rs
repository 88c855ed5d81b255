//! Every kind of bad token is a 401 problem with an RFC 6750 challenge, never a 500.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use servicekit::testing::{TestApp, TestIssuer};

use crate::helpers::{challenge, problem, spawn, spawn_with_auth};

/// How a row sends its credentials.
enum Send {
    NoHeader,
    Raw(String),
    Bearer(String),
}

struct Case {
    name: &'static str,
    /// Which app: the one trusting the issuer by discovery, or the one with a PEM key.
    pem_app: bool,
    send: Send,
    /// Expected RFC 6750 error code (`None`: a bare challenge).
    error: Option<&'static str>,
    /// Part of the expected `error_description`.
    description: &'static str,
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn cases(issuer: &TestIssuer) -> Vec<Case> {
    let valid = issuer.token().scope("students:read").sign();
    let (header, payload, _) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    };
    let claims = json!({
        "iss": issuer.issuer(), "aud": TestIssuer::AUDIENCE, "sub": "mallory",
        "exp": jsonwebtoken::get_current_timestamp() + 300,
    });
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let alg_none_sig = format!("{}.{}.c2ln", b64(&json!({"alg": "none"})), b64(&claims));
    // The classic confusion attack: HS256 with the RSA public key (PEM text) as the secret.
    let pem = issuer.public_pem(Algorithm::RS256);
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(pem.as_bytes()),
    )
    .unwrap();
    let confused_with_kid = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = issuer.current_kid(Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(pem.as_bytes())).unwrap()
    };
    let huge = format!("{header}.{}.{}", "A".repeat(100 * 1024), "B".repeat(10));
    let row = |name, pem_app, send, error, description| Case {
        name,
        pem_app,
        send,
        error,
        description,
    };
    vec![
        row("missing header", false, Send::NoHeader, None, ""),
        row(
            "wrong scheme",
            false,
            Send::Raw("Basic dXNlcjpwYXNz".into()),
            None,
            "",
        ),
        row(
            "garbage",
            false,
            Send::Bearer("garbage".into()),
            Some("invalid_token"),
            "malformed",
        ),
        row(
            "truncated",
            false,
            Send::Bearer(valid[..valid.len() - 20].into()),
            Some("invalid_token"),
            "",
        ),
        row(
            "truncated to two parts",
            false,
            Send::Bearer(format!("{header}.{payload}")),
            Some("invalid_token"),
            "malformed",
        ),
        row(
            "bad base64 header",
            false,
            Send::Bearer(format!("!!{header}.{payload}.abc")),
            Some("invalid_token"),
            "malformed",
        ),
        row(
            "bad base64 signature",
            false,
            Send::Bearer(format!("{header}.{payload}.***")),
            Some("invalid_token"),
            "malformed",
        ),
        row(
            "alg none",
            false,
            Send::Bearer(alg_none),
            Some("invalid_token"),
            "",
        ),
        row(
            "alg none with signature",
            false,
            Send::Bearer(alg_none_sig),
            Some("invalid_token"),
            "algorithm",
        ),
        row(
            "HS256 not in the allowlist",
            false,
            Send::Bearer(issuer.token().alg(Algorithm::HS256).sign()),
            Some("invalid_token"),
            "algorithm",
        ),
        row(
            "HS256 signed with the RSA public PEM",
            true,
            Send::Bearer(confused),
            Some("invalid_token"),
            "does not match its signing key",
        ),
        row(
            "HS256 with the RSA kid",
            false,
            Send::Bearer(confused_with_kid),
            Some("invalid_token"),
            "algorithm",
        ),
        row(
            "expired",
            false,
            Send::Bearer(issuer.token().expires_in(-300).sign()),
            Some("invalid_token"),
            "expired",
        ),
        row(
            "nbf in the future",
            false,
            Send::Bearer(issuer.token().not_before(300).sign()),
            Some("invalid_token"),
            "not valid yet",
        ),
        row(
            "wrong iss",
            false,
            Send::Bearer(issuer.token().issuer("https://evil.example").sign()),
            Some("invalid_token"),
            "issuer",
        ),
        row(
            "wrong aud",
            false,
            Send::Bearer(issuer.token().audience("someone-else").sign()),
            Some("invalid_token"),
            "not meant for this service",
        ),
        row(
            "no exp",
            false,
            Send::Bearer(issuer.token().without_claim("exp").sign()),
            Some("invalid_token"),
            "claims",
        ),
        row(
            "unknown kid after refetch",
            false,
            Send::Bearer(issuer.token().unknown_kid("nobody-published-this").sign()),
            Some("invalid_token"),
            "signing key is unknown",
        ),
        row(
            "wrong typ",
            false,
            Send::Bearer(issuer.token().typ(Some("dpop+jwt")).sign()),
            Some("invalid_token"),
            "type",
        ),
        row(
            "100 KB token",
            false,
            Send::Bearer(huge),
            Some("invalid_token"),
            "too large",
        ),
    ]
}

#[tokio::test]
async fn bad_tokens_are_401_problems_never_500() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let pem_app = spawn_with_auth(json!({
        "algorithms": ["RS256", "HS256"],
        "issuers": [{
            "issuer": issuer.issuer(),
            "audiences": [TestIssuer::AUDIENCE],
            "pem": issuer.public_pem(Algorithm::RS256),
        }],
    }))
    .await;
    // Controls: a good token passes both apps, so each rejection below is about the token.
    let good = issuer.token().without_kid().sign();
    assert_eq!(app.bearer(&good).get("/me").await.status(), 200);
    assert_eq!(pem_app.bearer(&good).get("/me").await.status(), 200);

    for case in cases(&issuer) {
        let target: &TestApp = if case.pem_app { &pem_app } else { &app };
        let jwks_before = issuer.jwks_requests();
        let mut req = target.client().get(target.url("/me"));
        match &case.send {
            Send::NoHeader => {}
            Send::Raw(value) => req = req.header("authorization", value),
            Send::Bearer(token) => req = req.bearer_auth(token),
        }
        let res = req.send().await.unwrap();

        assert_eq!(res.status(), 401, "{}", case.name);
        let challenge = challenge(&res);
        assert!(
            challenge.starts_with("Bearer realm=\"auth-test\""),
            "{}: {challenge}",
            case.name
        );
        match case.error {
            None => assert_eq!(challenge, "Bearer realm=\"auth-test\"", "{}", case.name),
            Some(code) => {
                assert!(
                    challenge.contains(&format!("error=\"{code}\"")),
                    "{}: {challenge}",
                    case.name
                );
                assert!(
                    challenge.contains("error_description=\"")
                        && challenge.contains(case.description),
                    "{}: {challenge}",
                    case.name
                );
            }
        }
        let body = problem(res).await;
        assert_eq!(body["status"], 401, "{}", case.name);
        if case.name == "unknown kid after refetch" {
            assert!(
                issuer.jwks_requests() > jwks_before,
                "an unknown kid refetches the JWKS"
            );
        }
    }
}

#[tokio::test]
async fn more_than_one_authorization_header_is_400_invalid_request() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let valid = format!("Bearer {}", issuer.token().scope("students:read").sign());

    // A valid token first must not win over a second credential, nor the other way round.
    for (first, second) in [
        (valid.as_str(), "Bearer garbage"),
        ("Bearer garbage", valid.as_str()),
        (valid.as_str(), valid.as_str()),
    ] {
        let res = app
            .client()
            .get(app.url("/students"))
            .header("authorization", first)
            .header("authorization", second)
            .send()
            .await
            .unwrap();

        assert_eq!(res.status(), 400);
        let challenge = challenge(&res);
        assert!(
            challenge.starts_with("Bearer realm=\"auth-test\", error=\"invalid_request\""),
            "{challenge}"
        );
        let body = problem(res).await;
        assert_eq!(body["status"], 400);
        assert!(
            body["detail"].as_str().unwrap().contains("more than one"),
            "{body}"
        );
    }
    // One header still works.
    let res = app
        .client()
        .get(app.url("/students"))
        .header("authorization", valid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
