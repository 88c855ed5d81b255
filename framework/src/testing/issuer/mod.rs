//! `TestIssuer`: an OpenID issuer in the test process that serves discovery and a JWKS on
//! `127.0.0.1:0` and mints real signed tokens, so tests exercise the real verification path.

mod keys;
mod routes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, get_current_timestamp};
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use keys::SigningKey;

/// An in-process OpenID issuer for tests.
///
/// It serves `/.well-known/openid-configuration`, `/jwks` and a client-credentials `/token`
/// endpoint, signs tokens with RS256, ES256, EdDSA (published keys) and HS256 (a shared
/// secret), rotates keys, and can pretend to be down.
///
/// ```no_run
/// # async fn t() -> Result<(), servicekit::Error> {
/// use servicekit::testing::{TestApp, TestIssuer};
///
/// let issuer = TestIssuer::start().await;
/// let builder = servicekit::Service::builder("svc").set("auth", issuer.auth_config());
/// let app = TestApp::spawn(builder).await?;
/// let token = issuer.token().scope("students:read").sign();
/// let res = app.client().get(app.url("/students")).bearer_auth(token).send().await.unwrap();
/// # let _ = res; Ok(()) }
/// ```
#[derive(Clone)]
pub struct TestIssuer {
    shared: Arc<Shared>,
    _server: Arc<Server>,
}

struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) struct Shared {
    url: String,
    keys: RwLock<KeyRing>,
    hs_secret: String,
    available: AtomicBool,
    jwks_requests: AtomicUsize,
    token_requests: AtomicUsize,
    token_ttl: AtomicU64,
    clients: RwLock<HashMap<String, String>>,
}

#[derive(Default)]
struct KeyRing {
    active: Vec<SigningKey>,
    retired: Vec<SigningKey>,
    generated: usize,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("url", &self.shared.url)
            .finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// The audience of minted tokens unless a test sets another.
    pub const AUDIENCE: &'static str = "servicekit-test";
    /// The client id the token endpoint knows from the start.
    pub const CLIENT_ID: &'static str = "test-client";
    /// The secret of [`TestIssuer::CLIENT_ID`].
    pub const CLIENT_SECRET: &'static str = "test-client-secret";

    /// Starts an issuer on a free loopback port with one RS256, ES256 and EdDSA key.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the test issuer");
        let addr = listener.local_addr().expect("local address");
        let initial = tokio::task::spawn_blocking(keys::initial)
            .await
            .expect("key generation");
        let shared = Arc::new(Shared {
            url: format!("http://{addr}"),
            keys: RwLock::new(KeyRing {
                active: initial,
                retired: Vec::new(),
                generated: 1,
            }),
            hs_secret: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
            available: AtomicBool::new(true),
            jwks_requests: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
            token_ttl: AtomicU64::new(300),
            clients: RwLock::new(HashMap::from([(
                Self::CLIENT_ID.to_string(),
                Self::CLIENT_SECRET.to_string(),
            )])),
        });
        let app = routes::router(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            shared,
            _server: Arc::new(Server(server)),
        }
    }

    /// The issuer identifier (`iss`), `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.shared.url
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.shared.url)
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.shared.url)
    }

    /// The HS256 secret (at least 32 bytes).
    pub fn hs_secret(&self) -> &str {
        &self.shared.hs_secret
    }

    /// The PEM public key of the current key for `alg` (RS256, ES256 or EdDSA).
    ///
    /// # Panics
    /// If there is no active key for `alg`.
    pub fn public_pem(&self, alg: Algorithm) -> String {
        self.shared
            .current(alg)
            .map(|k| k.public_pem)
            .unwrap_or_else(|| panic!("no active {alg:?} key"))
    }

    /// The `[auth]` section trusting this issuer by discovery, accepting RS256, ES256 and
    /// EdDSA, refetching on unknown `kid`s without delay: pass it to
    /// `ServiceBuilder::set("auth", ..)`.
    pub fn auth_config(&self) -> Value {
        json!({
            "issuers": [self.issuer_config()],
            "algorithms": ["RS256", "ES256", "EdDSA"],
            "jwks_min_refetch": "0s",
        })
    }

    /// One `[[auth.issuers]]` entry for this issuer, by discovery.
    pub fn issuer_config(&self) -> Value {
        json!({ "issuer": self.issuer(), "audiences": [Self::AUDIENCE], "discovery": true })
    }

    /// A token builder: RS256 with the current key, `sub` `test-user`, audience
    /// [`TestIssuer::AUDIENCE`], valid for five minutes.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder {
            shared: self.shared.clone(),
            alg: Algorithm::RS256,
            kid: KidChoice::Current,
            typ: Some("JWT".into()),
            claims: base_claims(&self.shared.url, "test-user", Self::AUDIENCE, 300),
        }
    }

    /// Adds a new key for `alg`, which becomes the one new tokens are signed with; returns its
    /// `kid`. The previous keys stay published until retired.
    pub fn rotate(&self, alg: Algorithm) -> String {
        let mut ring = self.shared.keys_mut();
        ring.generated += 1;
        let kid = format!("{}-{}", format!("{alg:?}").to_lowercase(), ring.generated);
        ring.active.push(keys::generate(alg, &kid));
        kid
    }

    /// Stops publishing the key `kid`; tokens can still be signed with it (to test rejection).
    pub fn retire(&self, kid: &str) {
        let mut ring = self.shared.keys_mut();
        if let Some(pos) = ring.active.iter().position(|k| k.kid == kid) {
            let key = ring.active.remove(pos);
            ring.retired.push(key);
        }
    }

    /// The `kid` of the current key for `alg`.
    pub fn current_kid(&self, alg: Algorithm) -> Option<String> {
        self.shared.current(alg).map(|k| k.kid)
    }

    /// Makes discovery, JWKS and token endpoints answer 503 (`false`) or work again (`true`).
    pub fn set_available(&self, available: bool) {
        self.shared.available.store(available, Ordering::SeqCst);
    }

    /// How many times the JWKS was requested.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_requests.load(Ordering::SeqCst)
    }

    /// How many token requests the token endpoint received.
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// The `expires_in` of tokens from the token endpoint (default 300 s).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .token_ttl
            .store(lifetime.as_secs(), Ordering::SeqCst);
    }

    /// Registers another client for the token endpoint.
    pub fn add_client(&self, id: &str, secret: &str) {
        self.shared
            .clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), secret.to_string());
    }
}

impl Shared {
    fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.keys.write().unwrap_or_else(|e| e.into_inner())
    }

    fn clients(&self) -> RwLockReadGuard<'_, HashMap<String, String>> {
        self.clients.read().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self, alg: Algorithm) -> Option<SigningKey> {
        self.keys()
            .active
            .iter()
            .rev()
            .find(|k| k.alg == alg)
            .cloned()
    }

    fn by_kid(&self, kid: &str) -> Option<SigningKey> {
        let ring = self.keys();
        ring.active
            .iter()
            .chain(ring.retired.iter())
            .find(|k| k.kid == kid)
            .cloned()
    }

    /// Signs `claims`; `kid` picks a published or retired key (HS256 uses the secret).
    ///
    /// # Panics
    /// If there is no key for `alg` (test support only).
    fn sign(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        typ: Option<&str>,
        claims: &Map<String, Value>,
    ) -> String {
        let mut header = Header::new(alg);
        header.typ = typ.map(str::to_string);
        let key = if alg == Algorithm::HS256 {
            header.kid = kid.map(str::to_string);
            EncodingKey::from_secret(self.hs_secret.as_bytes())
        } else {
            let key = match kid {
                Some(kid) => self.by_kid(kid).filter(|k| k.alg == alg),
                None => self.current(alg),
            }
            .unwrap_or_else(|| panic!("the test issuer has no {alg:?} key {kid:?}"));
            header.kid = Some(key.kid.clone());
            key.encoding
        };
        jsonwebtoken::encode(&header, claims, &key).expect("signing a test token")
    }
}

/// The registered claims of a token valid for `ttl` seconds from now.
fn base_claims(iss: &str, sub: &str, aud: &str, ttl: u64) -> Map<String, Value> {
    let now = get_current_timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), iss.into());
    claims.insert("sub".into(), sub.into());
    claims.insert("aud".into(), aud.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ttl).into());
    claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    claims
}

enum KidChoice {
    Current,
    Named(String),
    Unpublished(String),
    None,
}

/// Builds and signs one token; see [`TestIssuer::token`].
#[must_use = "call .sign() to get the token"]
pub struct TokenBuilder {
    shared: Arc<Shared>,
    alg: Algorithm,
    kid: KidChoice,
    typ: Option<String>,
    claims: Map<String, Value>,
}

impl std::fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder {
    /// Signs with `alg`: RS256, ES256, EdDSA (current key) or HS256 (the shared secret).
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Signs with the (published or retired) key `kid`.
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = KidChoice::Named(kid.to_string());
        self
    }

    /// Signs with the current key but names `kid` in the header, a key nobody published.
    pub fn unknown_kid(mut self, kid: &str) -> Self {
        self.kid = KidChoice::Unpublished(kid.to_string());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn without_kid(mut self) -> Self {
        self.kid = KidChoice::None;
        self
    }

    /// Sets the header `typ` (`None` leaves it out; default `JWT`).
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_string);
        self
    }

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.claim("sub", sub)
    }

    /// Sets `scope` (space-delimited).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud` (a string or an array).
    pub fn audience(self, aud: impl Into<Value>) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.claim("iss", iss)
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_string(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `exp` to `seconds` from now (negative: already expired).
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = get_current_timestamp() as i64 + seconds;
        self.claim("exp", exp)
    }

    /// Sets `nbf` to `seconds` from now.
    pub fn not_before(self, seconds: i64) -> Self {
        let nbf = get_current_timestamp() as i64 + seconds;
        self.claim("nbf", nbf)
    }

    /// The signed token.
    ///
    /// # Panics
    /// If the issuer has no key for the chosen algorithm or `kid`.
    pub fn sign(self) -> String {
        let typ = self.typ.as_deref();
        match &self.kid {
            KidChoice::Current => self.shared.sign(self.alg, None, typ, &self.claims),
            KidChoice::Named(kid) => self.shared.sign(self.alg, Some(kid), typ, &self.claims),
            KidChoice::Unpublished(_) | KidChoice::None => {
                // Sign with the current key, then rewrite the header's kid.
                let kid = match &self.kid {
                    KidChoice::Unpublished(kid) => Some(kid.clone()),
                    _ => None,
                };
                let mut header = Header::new(self.alg);
                header.typ = self.typ.clone();
                header.kid = kid;
                let key = if self.alg == Algorithm::HS256 {
                    EncodingKey::from_secret(self.shared.hs_secret.as_bytes())
                } else {
                    self.shared
                        .current(self.alg)
                        .unwrap_or_else(|| panic!("no {:?} key", self.alg))
                        .encoding
                };
                jsonwebtoken::encode(&header, &self.claims, &key).expect("signing a test token")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mints_tokens_and_rotates_keys() {
        let issuer = TestIssuer::start().await;
        let token = issuer.token().alg(Algorithm::ES256).sign();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("es256-1"));

        let kid = issuer.rotate(Algorithm::ES256);
        assert_eq!(issuer.current_kid(Algorithm::ES256), Some(kid.clone()));
        issuer.retire("es256-1");
        let jwks: Value = reqwest::get(issuer.jwks_url())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(kids.contains(&kid.as_str()));
        assert!(!kids.contains(&"es256-1"));
        assert_eq!(issuer.jwks_requests(), 1);
        // Retired keys still sign, so tests can check their rejection.
        let old = issuer.token().alg(Algorithm::ES256).kid("es256-1").sign();
        assert_eq!(
            jsonwebtoken::decode_header(&old).unwrap().kid.as_deref(),
            Some("es256-1")
        );
    }

    #[tokio::test]
    async fn can_pretend_to_be_down() {
        let issuer = TestIssuer::start().await;
        issuer.set_available(false);
        let res = reqwest::get(issuer.jwks_url()).await.unwrap();
        assert_eq!(res.status(), 503);
    }
}
