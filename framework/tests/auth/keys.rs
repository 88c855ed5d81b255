//! Key sources and the JWKS lifecycle: algorithms, rotation, issuer outages, cold start.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use servicekit::testing::TestIssuer;

use crate::helpers::{problem, spawn, spawn_with_auth};

#[tokio::test]
async fn rs256_es256_eddsa_and_token_types_are_accepted() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;

    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let token = issuer.token().alg(alg).subject("ada").sign();
        let res = app.bearer(&token).get("/me").await;
        assert_eq!(res.status(), 200, "{alg:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["sub"], "ada");
        assert_eq!(body["iss"], issuer.issuer());
    }
    for typ in [Some("at+jwt"), Some("application/at+jwt"), None] {
        let token = issuer.token().typ(typ).sign();
        assert_eq!(app.bearer(&token).get("/me").await.status(), 200, "{typ:?}");
    }
}

#[tokio::test]
async fn hs256_secret_and_pem_issuers() {
    let issuer = TestIssuer::start().await;
    let hs = spawn_with_auth(json!({
        "algorithms": ["HS256"],
        "issuers": [{"issuer": issuer.issuer(), "audiences": [TestIssuer::AUDIENCE],
                     "hs_secret": issuer.hs_secret()}],
    }))
    .await;
    assert_eq!(
        hs.bearer(&issuer.token().alg(Algorithm::HS256).sign())
            .get("/me")
            .await
            .status(),
        200
    );
    // An RS256 token is refused by an HS-only verifier.
    assert_eq!(
        hs.bearer(&issuer.token().sign()).get("/me").await.status(),
        401
    );

    let pem = spawn_with_auth(json!({
        "algorithms": ["ES256"],
        "issuers": [{"issuer": issuer.issuer(), "audiences": [TestIssuer::AUDIENCE],
                     "pem": issuer.public_pem(Algorithm::ES256)}],
    }))
    .await;
    let token = issuer.token().alg(Algorithm::ES256).without_kid().sign();
    assert_eq!(pem.bearer(&token).get("/me").await.status(), 200);
}

#[tokio::test]
async fn several_issuers_are_selected_by_iss() {
    let first = TestIssuer::start().await;
    let second = TestIssuer::start().await;
    let app = spawn_with_auth(json!({
        "algorithms": ["RS256", "ES256"],
        "jwks_min_refetch": "0s",
        "issuers": [first.issuer_config(),
                    {"issuer": second.issuer(), "audiences": ["second-api"], "jwks_url": second.jwks_url()}],
    }))
    .await;
    let res = app.bearer(&first.token().sign()).get("/me").await;
    assert_eq!(res.status(), 200);
    let token = second
        .token()
        .audience("second-api")
        .alg(Algorithm::ES256)
        .sign();
    let body: Value = app.bearer(&token).get("/me").await.json().await.unwrap();
    assert_eq!(body["iss"], second.issuer());
    // The second issuer's audience is not valid for the first issuer.
    let crossed = first.token().audience("second-api").sign();
    assert_eq!(app.bearer(&crossed).get("/me").await.status(), 401);
}

#[tokio::test]
async fn rotation_at_the_issuer_needs_no_restart() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    assert_eq!(
        app.bearer(&issuer.token().sign()).get("/me").await.status(),
        200
    );

    let new_kid = issuer.rotate(Algorithm::RS256);
    let token = issuer.token().sign();

    assert_ne!(new_kid, old_kid);
    assert_eq!(
        app.bearer(&token).get("/me").await.status(),
        200,
        "new kid fetched"
    );
    // Tokens of the old key verify while it is still published ...
    let old = issuer.token().kid(&old_kid).sign();
    assert_eq!(app.bearer(&old).get("/me").await.status(), 200);
    // ... and, once it is retired, not after the next key set fetch (here forced by an
    // unknown kid; otherwise the background refresh). A fresh token, so the cache cannot answer.
    issuer.retire(&old_kid);
    let unknown = issuer.token().unknown_kid("force-a-refetch").sign();
    assert_eq!(app.bearer(&unknown).get("/me").await.status(), 401);
    let retired = issuer.token().kid(&old_kid).sign();
    let res = app.bearer(&retired).get("/me").await;
    assert_eq!(res.status(), 401);
    assert!(
        problem(res).await["detail"]
            .as_str()
            .unwrap()
            .contains("unknown")
    );
}

#[tokio::test]
async fn jwks_down_keeps_the_cached_keys() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    assert_eq!(
        app.bearer(&issuer.token().sign()).get("/me").await.status(),
        200
    );

    issuer.set_available(false);

    // A new token (not in the verified-token cache) still verifies with the cached keys.
    let fresh = issuer.token().subject("another").sign();
    assert_eq!(app.bearer(&fresh).get("/me").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200, "keys were loaded once: still ready");
    // A key the service never saw cannot be fetched: 401, not 500.
    issuer.rotate(Algorithm::ES256);
    let unseen = issuer.token().alg(Algorithm::ES256).sign();
    assert_eq!(app.bearer(&unseen).get("/me").await.status(), 401);
}

#[tokio::test]
async fn cold_start_without_keys_is_unready_and_503_until_the_issuer_is_back() {
    let issuer = TestIssuer::start().await;
    issuer.set_available(false);
    let app = spawn(&issuer).await;

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["auth"][0]["status"], "fail");
    assert!(
        body["checks"]["auth"][0]["output"]
            .as_str()
            .unwrap()
            .contains(issuer.issuer())
    );
    let res = app.bearer(&issuer.token().sign()).get("/me").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    let detail = problem(res).await["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("signing keys are not available"),
        "{detail}"
    );
    // Probes stay public and alive.
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);

    issuer.set_available(true);

    assert_eq!(
        app.bearer(&issuer.token().sign()).get("/me").await.status(),
        200
    );
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn repeat_requests_hit_the_verified_token_cache() {
    let issuer = TestIssuer::start().await;
    let app = spawn(&issuer).await;
    let old_kid = issuer.current_kid(Algorithm::RS256).unwrap();
    let token = issuer.token().sign();
    assert_eq!(app.bearer(&token).get("/me").await.status(), 200);

    // Take the token's key away from the service: rotate, retire, and make it refetch.
    issuer.rotate(Algorithm::RS256);
    issuer.retire(&old_kid);
    let unknown = issuer.token().unknown_kid("force-a-refetch").sign();
    assert_eq!(app.bearer(&unknown).get("/me").await.status(), 401);
    let fresh_old = issuer.token().kid(&old_kid).sign();
    assert_eq!(
        app.bearer(&fresh_old).get("/me").await.status(),
        401,
        "old key is gone"
    );

    // Only the verified-token cache can still accept the first token.
    assert_eq!(app.bearer(&token).get("/me").await.status(), 200);
    // A token differing in one character of its signature is no hit.
    let mut forged: Vec<char> = token.chars().collect();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    assert_eq!(app.bearer(&forged).get("/me").await.status(), 401);
}
