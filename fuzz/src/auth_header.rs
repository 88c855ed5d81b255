//! The bearer header and JWT verification path of the auth layer, with a verifier configured
//! from a static HMAC key. Must never panic, and never answer anything but 200 or 401.
//!
//! Input: the first byte picks the mode.
//! - even: the rest is the raw `Authorization` header value;
//! - odd: the rest is `header JSON \n claims JSON`, encoded and *correctly signed* with the
//!   verifier's key, so the fuzzer reaches claim validation (issuer, audience, times, typ,
//!   scopes) instead of stopping at the signature.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use servicekit::auth::{AuthConfig, Principal, Verifier};
use tower::ServiceExt;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

struct State {
    rt: tokio::runtime::Runtime,
    verifier: Verifier,
    app: Router,
}

static STATE: LazyLock<State> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config: AuthConfig = serde_json::from_value(serde_json::json!({
        "algorithms": ["HS256"], "realm": "fuzz",
        "issuers": [{"issuer": "iss", "audiences": ["api"], "hs_secret": SECRET}]
    }))
    .expect("auth config");
    let verifier = rt.block_on(Verifier::new(&config)).expect("verifier");
    let app = Router::new()
        .route(
            "/",
            get(|p: Principal| async move {
                format!("{:?} {:?} {:?}", p.subject(), p.scopes(), p.roles())
            }),
        )
        .layer(verifier.layer());
    State { rt, verifier, app }
});

/// A token over fuzzer-chosen header and claims, with a valid HS256 signature.
fn signed(data: &[u8]) -> String {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (head, claims) = data.split_at(split);
    let claims = claims.get(1..).unwrap_or_default();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(head),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).expect("hmac");
    format!("{input}.{signature}")
}

/// One fuzz input through this target; panics on a violated property.
pub fn run(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let state = &*STATE;
    let value = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        format!("Bearer {}", signed(rest)).into_bytes()
    };
    // Values a client cannot send (control characters) never reach the layer.
    let Ok(value) = HeaderValue::from_bytes(&value) else {
        return;
    };
    if let Ok(text) = value.to_str() {
        let _ = state.rt.block_on(state.verifier.verify(text.trim()));
    }
    let req = Request::get("/")
        .header(header::AUTHORIZATION, value)
        .body(Body::empty())
        .expect("request");
    let res = state
        .rt
        .block_on(state.app.clone().oneshot(req))
        .expect("infallible");
    let status = res.status().as_u16();
    assert!(matches!(status, 200 | 401), "unexpected status {status}");
    if status == 401 {
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
