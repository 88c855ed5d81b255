//! Token verification: the header and issuer checks, key selection, signature and claims.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, get_current_timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::cache::TokenCache;
use super::config::{AuthConfig, AuthConfigError, validate};
use super::error::DEFAULT_REALM;
use super::issuer::TrustedIssuer;
use super::keys::{KeySet, KeyStore, KeysCheck, Source, VerifyKey, spawn_refresher};
use super::{AuthError, AuthLayer, Principal};

/// Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size).
const MIN_HMAC_SECRET: usize = 32;

/// Verifies bearer tokens against the configured issuers; cheap to clone.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use servicekit::auth::{AuthConfig, Verifier};
///
/// let config: AuthConfig = serde_json::from_value(serde_json::json!({
///     "issuers": [{"issuer": "https://idp.example.org", "audiences": ["students"], "discovery": true}]
/// }))?;
/// let verifier = Verifier::new(&config).await?;
/// let principal = verifier.verify("eyJhbGciOi...").await;
/// # let _ = principal; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: HashMap<String, TrustedIssuer>,
    algorithms: Vec<Algorithm>,
    max_token_bytes: usize,
    cache: TokenCache,
    realm: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.issuers.keys().collect::<Vec<_>>())
            .field("algorithms", &self.inner.algorithms)
            .field("realm", &self.inner.realm)
            .finish_non_exhaustive()
    }
}

/// The parts of a JOSE header that are checked before any key is touched.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    iss: Option<String>,
}

impl Verifier {
    /// Builds a verifier from `config`, fetches every remote key set once (a failure is logged
    /// and retried in the background) and starts the background refresh.
    ///
    /// Must be called inside a tokio runtime.
    pub async fn new(config: &AuthConfig) -> Result<Self, AuthConfigError> {
        let verifier = Self::build(config)?;
        let remote: Vec<Arc<KeyStore>> = verifier.remote_stores();
        futures_util::future::join_all(remote.iter().map(|s| s.refresh())).await;
        for store in &remote {
            spawn_refresher(store, config.jwks_refresh);
        }
        Ok(verifier)
    }

    fn build(config: &AuthConfig) -> Result<Self, AuthConfigError> {
        validate(config).map_err(|e| AuthConfigError::new(e.key, e.message, e.fix))?;
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .build()
            .map_err(|e| {
                AuthConfigError::new(
                    "auth.http_timeout",
                    e.to_string(),
                    "set it to how long a key or discovery fetch may take, e.g. `10s` \
                     (SERVICEKIT__AUTH__HTTP_TIMEOUT)",
                )
            })?;
        let mut issuers = HashMap::new();
        for (i, ic) in config.issuers.iter().enumerate() {
            let store = if let Some(keys) = fixed_keys(i, ic.hs_secret.as_ref(), ic.pem.as_deref())?
            {
                KeyStore::fixed(&ic.issuer, keys)
            } else if let Some(url) = &ic.jwks_url {
                KeyStore::remote(
                    &ic.issuer,
                    Source::Jwks(url.clone()),
                    http.clone(),
                    config.jwks_min_refetch,
                )
            } else {
                KeyStore::remote(
                    &ic.issuer,
                    Source::Discovery,
                    http.clone(),
                    config.jwks_min_refetch,
                )
            };
            if let Some(keys) = store.keys() {
                let usable = config
                    .algorithms
                    .iter()
                    .any(|alg| keys.keys.iter().any(|k| k.fits(*alg)));
                if !usable {
                    return Err(AuthConfigError::new(
                        "auth.algorithms",
                        format!(
                            "no listed algorithm fits the keys of issuer `{}` (an hs_secret \
                             needs HS256/HS384/HS512, a PEM key its own family)",
                            ic.issuer
                        ),
                        "list the algorithm the issuer signs with in auth.algorithms, e.g. \
                         `[\"HS256\"]` for an hs_secret or `[\"RS256\"]` for an RSA key",
                    ));
                }
            }
            let trusted = TrustedIssuer::new(
                ic,
                Arc::new(store),
                &config.algorithms,
                config.leeway.as_secs(),
            );
            issuers.insert(ic.issuer.clone(), trusted);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                issuers,
                algorithms: config.algorithms.clone(),
                max_token_bytes: config.max_token_bytes,
                cache: TokenCache::new(config.cache_capacity),
                realm: config
                    .realm
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REALM.to_string()),
            }),
        })
    }

    /// Replaces the HMAC secret or PEM keys of the issuer at `index` of `auth.issuers` (the
    /// secret behind them rotated) and forgets every verified token, so tokens signed with the
    /// old key are rejected from now on. An unusable new value is an error and changes nothing.
    pub(crate) fn rotate_fixed_keys(
        &self,
        index: usize,
        issuer: &str,
        hs_secret: Option<&SecretString>,
        pem: Option<&str>,
    ) -> Result<(), AuthConfigError> {
        let Some(keys) = fixed_keys(index, hs_secret, pem)? else {
            return Ok(());
        };
        let store = self
            .inner
            .issuers
            .get(issuer)
            .map(|i| &i.keys)
            .ok_or_else(|| {
                AuthConfigError::new(
                    format!("auth.issuers.{index}"),
                    "no such issuer",
                    "rotate keys only for an issuer listed in [[auth.issuers]]",
                )
            })?;
        store.replace(keys);
        self.inner.cache.clear();
        Ok(())
    }

    fn remote_stores(&self) -> Vec<Arc<KeyStore>> {
        self.inner
            .issuers
            .values()
            .map(|i| i.keys.clone())
            .filter(|s| s.is_remote())
            .collect()
    }

    /// The readiness check reporting whether every remote key set has been loaded; `None`
    /// when all keys come from configuration.
    pub fn health_check(&self) -> Option<impl crate::health::HealthCheck + use<>> {
        let stores = self.remote_stores();
        (!stores.is_empty()).then_some(KeysCheck { stores })
    }

    /// The layer that verifies every request with this verifier.
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.clone())
    }

    /// The realm named in `WWW-Authenticate`.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Verifies `token` (the text after `Bearer `), answering from the verified-token cache
    /// when the same token was verified before and has not expired.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > self.inner.max_token_bytes {
            return Err(AuthError::TooLarge);
        }
        let now = get_current_timestamp();
        if let Some(principal) = self.inner.cache.get(token, now) {
            return Ok(principal);
        }
        let principal = self.verify_uncached(token).await?;
        if principal.expires_at() > now {
            self.inner.cache.insert(token, principal.clone());
        }
        Ok(principal)
    }

    /// Verifies `token` fully, neither reading nor filling the cache (for one-off checks and
    /// benchmarks).
    pub async fn verify_uncached(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > self.inner.max_token_bytes {
            return Err(AuthError::TooLarge);
        }
        let header = parse_header(token)?;
        let alg = Algorithm::from_str(&header.alg).map_err(|_| AuthError::AlgorithmNotAllowed)?;
        if !self.inner.algorithms.contains(&alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        if let Some(typ) = &header.typ {
            let accepted = ["JWT", "at+jwt", "application/at+jwt"];
            if !accepted.iter().any(|a| typ.eq_ignore_ascii_case(a)) {
                return Err(AuthError::WrongType);
            }
        }
        if header.crit.is_some() {
            // No JWS extension is understood here, so RFC 7515 §4.1.11 says reject.
            return Err(AuthError::Malformed);
        }
        let peek: Peek = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| AuthError::Malformed)?;
        let issuer = peek
            .iss
            .as_deref()
            .and_then(|iss| self.inner.issuers.get(iss))
            .ok_or(AuthError::UntrustedIssuer)?;
        let validation = issuer
            .validation(alg)
            .ok_or(AuthError::AlgorithmNotAllowed)?;

        let keys = match issuer.keys.keys() {
            Some(keys) => keys,
            None => issuer
                .keys
                .refetch()
                .await
                .ok_or(AuthError::KeysUnavailable)?,
        };
        let keys = match &header.kid {
            Some(kid) if keys.find(kid).is_none() => {
                let refetched = issuer
                    .keys
                    .refetch()
                    .await
                    .ok_or(AuthError::KeysUnavailable)?;
                if refetched.find(kid).is_none() {
                    return Err(AuthError::UnknownKey);
                }
                refetched
            }
            _ => keys,
        };
        let candidates: Vec<&VerifyKey> = match &header.kid {
            Some(kid) => {
                let key = keys.find(kid).ok_or(AuthError::UnknownKey)?;
                if !key.fits(alg) {
                    return Err(AuthError::KeyMismatch);
                }
                vec![key]
            }
            None => keys.fitting(alg).collect(),
        };
        if candidates.is_empty() {
            return Err(AuthError::KeyMismatch);
        }

        let mut outcome = Err(AuthError::BadSignature);
        for key in candidates {
            // Belt and braces: never hand a key of another family to the crypto provider.
            if key.family != alg.family() || key.key.family() != key.family {
                continue;
            }
            match jsonwebtoken::decode::<Value>(token, &key.key, validation) {
                Ok(data) => {
                    outcome = Ok(data.claims);
                    break;
                }
                Err(e) => {
                    let error = AuthError::from(e);
                    if error != AuthError::BadSignature {
                        return Err(error);
                    }
                }
            }
        }
        let claims = outcome?;
        issuer.check_claims(&claims)?;
        Ok(issuer.principal(claims))
    }
}

/// The keys of an issuer configured by `hs_secret` or `pem` (the one at `index`), checked;
/// `None` for issuers whose keys are fetched.
fn fixed_keys(
    index: usize,
    hs_secret: Option<&SecretString>,
    pem: Option<&str>,
) -> Result<Option<KeySet>, AuthConfigError> {
    if let Some(secret) = hs_secret {
        let secret = secret.expose_secret().as_bytes();
        if secret.len() < MIN_HMAC_SECRET {
            return Err(AuthConfigError::new(
                format!("auth.issuers.{index}.hs_secret"),
                format!("must be at least {MIN_HMAC_SECRET} bytes"),
                format!(
                    "set it to a random secret of at least {MIN_HMAC_SECRET} bytes, e.g. from \
                     `openssl rand -base64 48`, best as a reference such as \
                     `aws-sm://prod/jwt#secret`"
                ),
            ));
        }
        return Ok(Some(KeySet {
            keys: vec![VerifyKey::hmac(secret)],
        }));
    }
    if let Some(pem) = pem {
        let keys = VerifyKey::from_pem(pem).map_err(|e| {
            AuthConfigError::new(
                format!("auth.issuers.{index}.pem"),
                e,
                "set it to the issuer's public key in PEM (`-----BEGIN PUBLIC KEY-----`...), \
                     or a reference such as `file:///run/secrets/jwt.pem`",
            )
        })?;
        return Ok(Some(KeySet { keys }));
    }
    Ok(None)
}

/// Splits off and parses the JOSE header, refusing anything but three non-empty parts.
fn parse_header(token: &str) -> Result<Header, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::config::IssuerConfig;
    use jsonwebtoken::{EncodingKey, Header as JwtHeader, encode};
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config() -> AuthConfig {
        AuthConfig {
            algorithms: vec![Algorithm::HS256],
            issuers: vec![IssuerConfig {
                issuer: "https://issuer.test".into(),
                audiences: vec!["api".into()],
                hs_secret: Some(SECRET.into()),
                ..IssuerConfig::default()
            }],
            ..AuthConfig::default()
        }
    }

    fn sign(claims: Value) -> String {
        encode(
            &JwtHeader::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn claims() -> Value {
        json!({"iss": "https://issuer.test", "aud": "api", "sub": "u1",
               "exp": get_current_timestamp() + 300, "scope": "a b"})
    }

    #[tokio::test]
    async fn verifies_and_caches() {
        let verifier = Verifier::new(&config()).await.unwrap();
        let token = sign(claims());
        let p = verifier.verify(&token).await.unwrap();
        assert_eq!(p.subject(), Some("u1"));
        assert_eq!(verifier.inner.cache.len(), 1);
        assert_eq!(verifier.verify(&token).await.unwrap().scopes(), ["a", "b"]);
    }

    #[tokio::test]
    async fn rejects_wrong_claims() {
        let verifier = Verifier::new(&config()).await.unwrap();
        let mut c = claims();
        c["aud"] = "other".into();
        assert_eq!(
            verifier.verify(&sign(c)).await.unwrap_err(),
            AuthError::WrongAudience
        );
        let mut c = claims();
        c["iss"] = "https://evil.test".into();
        assert_eq!(
            verifier.verify(&sign(c)).await.unwrap_err(),
            AuthError::UntrustedIssuer
        );
        let mut c = claims();
        c["exp"] = (get_current_timestamp() - 120).into();
        assert_eq!(
            verifier.verify(&sign(c)).await.unwrap_err(),
            AuthError::Expired
        );
        let mut c = claims();
        c["nbf"] = (get_current_timestamp() + 120).into();
        assert_eq!(
            verifier.verify(&sign(c)).await.unwrap_err(),
            AuthError::NotYetValid
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verifier.verify(&sign(c)).await.unwrap_err(),
            AuthError::InvalidClaims
        );
    }

    #[tokio::test]
    async fn rejects_bad_shapes_without_panicking() {
        let verifier = Verifier::new(&config()).await.unwrap();
        for token in ["", "a", "a.b", "a.b.c.d", "..", "!!!.???.***", "eyJ9.e30.x"] {
            assert!(verifier.verify(token).await.is_err(), "{token}");
        }
        let huge = "a".repeat(10_000);
        assert_eq!(
            verifier.verify(&huge).await.unwrap_err(),
            AuthError::TooLarge
        );
    }

    #[tokio::test]
    async fn a_wrong_secret_is_a_bad_signature() {
        let verifier = Verifier::new(&config()).await.unwrap();
        let token = encode(
            &JwtHeader::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
        )
        .unwrap();
        assert_eq!(
            verifier.verify(&token).await.unwrap_err(),
            AuthError::BadSignature
        );
    }

    #[tokio::test]
    async fn short_secrets_and_unfit_algorithms_are_config_errors() {
        let mut c = config();
        c.issuers[0].hs_secret = Some("short".into());
        assert_eq!(
            Verifier::new(&c).await.unwrap_err().key,
            "auth.issuers.0.hs_secret"
        );
        let mut c = config();
        c.algorithms = vec![Algorithm::RS256];
        assert_eq!(Verifier::new(&c).await.unwrap_err().key, "auth.algorithms");
    }

    #[test]
    fn header_parsing_is_strict() {
        assert!(parse_header("e30.e30.sig").is_err(), "no alg");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(
            parse_header(&format!("{header}.e30.x")).unwrap().alg,
            "none"
        );
    }
}
