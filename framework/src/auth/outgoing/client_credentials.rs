//! OAuth2 client credentials (RFC 6749 §4.4): a token for the service itself, cached, refreshed
//! before it expires, with one token request however many callers need it at once.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::BoxFuture;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::TokenSource;
use crate::BoxError;
use crate::auth::config::{AuthConfigError, ClientCredentialsConfig};
use crate::auth::keys::{discover, error_chain};

/// Shortest time a token is used before the next token request (unless it expires sooner):
/// a token endpoint issuing very short-lived tokens must not get one request per call.
const MIN_REFRESH_AFTER: Duration = Duration::from_secs(2);

/// A [`TokenSource`] that obtains tokens with the client credentials grant.
///
/// ```no_run
/// # async fn f() -> Result<(), servicekit::BoxError> {
/// use servicekit::auth::{ClientCredentialsConfig, ClientCredentials, TokenSource};
///
/// let config: ClientCredentialsConfig = serde_json::from_value(serde_json::json!({
///     "token_url": "https://idp.example.org/oauth2/token",
///     "client_id": "subject-service",
///     "client_secret": "s3cret",
///     "scopes": ["students:read"],
/// }))?;
/// let tokens = ClientCredentials::new(config)?;
/// let header = tokens.authorization().await?; // `Bearer eyJ...`
/// # let _ = header; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientCredentialsConfig,
    /// The client secret in use: `config.client_secret` until a rotation replaces it.
    secret: RwLock<Option<SecretString>>,
    current: RwLock<Option<Cached>>,
    /// Held while a token is requested, so that concurrent callers wait for that one request.
    refreshing: tokio::sync::Mutex<Option<String>>,
}

#[derive(Clone)]
struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
    expires_at: Instant,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.inner.config.client_id)
            .field("token_url", &self.inner.config.token_url)
            .field("issuer", &self.inner.config.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl ClientCredentials {
    /// A token source for `config`, with a 10 s HTTP timeout.
    pub fn new(config: ClientCredentialsConfig) -> Result<Self, AuthConfigError> {
        Self::with_timeout(config, Duration::from_secs(10))
    }

    /// A token source for `config` whose token (and discovery) requests give up after
    /// `timeout`; the service uses `auth.http_timeout`.
    pub fn with_timeout(
        config: ClientCredentialsConfig,
        timeout: Duration,
    ) -> Result<Self, AuthConfigError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| {
                AuthConfigError::new(
                    "auth.clients",
                    e.to_string(),
                    "set auth.http_timeout to how long a token request may take, e.g. `10s`",
                )
            })?;
        Self::with_http_client(config, http)
    }

    /// A token source for `config` using `http` for token requests.
    pub fn with_http_client(
        config: ClientCredentialsConfig,
        http: reqwest::Client,
    ) -> Result<Self, AuthConfigError> {
        if config.client_id.is_empty() {
            return Err(AuthConfigError::new(
                "client_id",
                "must not be empty",
                "set it to the client id the issuer registered for this service, e.g. \
                 `student-service`",
            ));
        }
        if config.token_url.is_none() && config.issuer.is_none() {
            return Err(AuthConfigError::new(
                "token_url",
                "has no token endpoint",
                "set token_url, e.g. `https://login.example.com/oauth/token`, or issuer to \
                 find the token endpoint by discovery",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                refreshing: tokio::sync::Mutex::new(config.token_url.clone()),
                secret: RwLock::new(config.client_secret.clone()),
                config,
                current: RwLock::new(None),
            }),
        })
    }

    /// Uses `secret` for the next token requests (the secret behind `client_secret` rotated);
    /// the current token stays in use until it is due for refresh.
    pub(crate) fn set_client_secret(&self, secret: SecretString) {
        *self.inner.secret.write().unwrap_or_else(|e| e.into_inner()) = Some(secret);
    }

    /// The cached header if it is not due for refresh.
    fn fresh(&self) -> Option<HeaderValue> {
        let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.header.clone())
    }

    /// The cached header if it has not expired (used when a refresh fails).
    fn unexpired(&self) -> Option<HeaderValue> {
        let current = self.inner.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| Instant::now() < c.expires_at)
            .map(|c| c.header.clone())
    }

    async fn header(&self) -> Result<HeaderValue, BoxError> {
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        let mut endpoint = self.inner.refreshing.lock().await;
        // Another caller may have refreshed while this one waited.
        if let Some(header) = self.fresh() {
            return Ok(header);
        }
        match self.request(&mut endpoint).await {
            Ok(cached) => {
                let header = cached.header.clone();
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = Some(cached);
                Ok(header)
            }
            Err(e) => match self.unexpired() {
                Some(header) => {
                    tracing::warn!(client_id = %self.inner.config.client_id, error = %e, "token refresh failed; using the current token until it expires");
                    Ok(header)
                }
                None => Err(e),
            },
        }
    }

    async fn request(&self, endpoint: &mut Option<String>) -> Result<Cached, BoxError> {
        let config = &self.inner.config;
        let url = match endpoint.clone() {
            Some(url) => url,
            None => {
                let issuer = config.issuer.as_deref().unwrap_or_default();
                let found = discover(&self.inner.http, issuer)
                    .await?
                    .token_endpoint
                    .ok_or_else(|| {
                        format!("the discovery document of {issuer} names no token_endpoint")
                    })?;
                *endpoint = Some(found.clone());
                found
            }
        };
        let secret = self
            .inner
            .secret
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default();
        let body = form_body(config, &secret);
        let mut request = self.inner.http.post(&url);
        if !config.credentials_in_body {
            request = request.header(
                http::header::AUTHORIZATION,
                basic_auth(&config.client_id, &secret)?,
            );
        }
        let started = Instant::now();
        let response = request
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("token request to {url} failed: {}", error_chain(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the token response of {url} failed: {e}"))?;
        if !status.is_success() {
            let reason = serde_json::from_slice::<ErrorResponse>(&body)
                .map(|e| match e.error_description {
                    Some(d) => format!("{}: {d}", e.error),
                    None => e.error,
                })
                .unwrap_or_else(|_| "no OAuth2 error body".into());
            return Err(format!("token endpoint {url} answered {status} ({reason})").into());
        }
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| format!("token endpoint {url} sent an unexpected body: {e}"))?;
        if let Some(kind) = &token.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(format!("token endpoint {url} issued a `{kind}` token, not Bearer").into());
        }
        let lifetime = token
            .expires_in
            .as_ref()
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map_or_else(|| config.default_lifetime(), Duration::from_secs);
        let mut header = HeaderValue::try_from(format!("Bearer {}", token.access_token))
            .map_err(|_| format!("token endpoint {url} issued a token that is not header-safe"))?;
        header.set_sensitive(true);
        Ok(Cached {
            header,
            refresh_at: started + refresh_after(lifetime, config.refresh_margin()),
            expires_at: started + lifetime,
        })
    }
}

/// How long a token of `lifetime` is used before a new one is requested: `margin` before it
/// expires, but at least half its lifetime (a margin longer than the lifetime must not mean a
/// token request per call) and at least [`MIN_REFRESH_AFTER`] unless it expires sooner.
fn refresh_after(lifetime: Duration, margin: Duration) -> Duration {
    let wanted = lifetime.saturating_sub(margin).max(lifetime / 2);
    wanted.max(MIN_REFRESH_AFTER.min(lifetime))
}

/// The form of a client credentials token request.
fn form_body(config: &ClientCredentialsConfig, secret: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if !config.scopes.is_empty() {
        form.append_pair("scope", &config.scopes.join(" "));
    }
    if let Some(resource) = &config.resource {
        form.append_pair("resource", resource);
    }
    if let Some(audience) = &config.audience {
        form.append_pair("audience", audience);
    }
    if config.credentials_in_body {
        form.append_pair("client_id", &config.client_id);
        form.append_pair("client_secret", secret);
    }
    form.finish()
}

/// HTTP Basic credentials, each part form-encoded first as RFC 6749 §2.3.1 asks.
fn basic_auth(id: &str, secret: &str) -> Result<HeaderValue, BoxError> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
    let mut value = HeaderValue::try_from(format!("Basic {credentials}"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl TokenSource for ClientCredentials {
    fn authorization(&self) -> BoxFuture<'_, Result<HeaderValue, BoxError>> {
        Box::pin(self.header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_first() {
        let value = basic_auth("my client", "p@ss:word").unwrap();
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aword");
        assert!(value.is_sensitive());
    }

    #[test]
    fn refresh_comes_at_a_fraction_of_short_lifetimes() {
        let s = Duration::from_secs;
        // A long lifetime: the margin before expiry.
        assert_eq!(refresh_after(s(3600), s(60)), s(3540));
        // A margin as long as the lifetime or longer: half the lifetime.
        assert_eq!(refresh_after(s(60), s(60)), s(30));
        assert_eq!(refresh_after(s(5), s(30)), Duration::from_millis(2500));
        // Very short lifetimes: the floor, but never past expiry.
        assert_eq!(refresh_after(s(3), s(30)), s(2));
        assert_eq!(refresh_after(s(1), s(30)), s(1));
        assert_eq!(refresh_after(Duration::ZERO, s(30)), Duration::ZERO);
    }

    #[test]
    fn needs_an_endpoint() {
        let err = ClientCredentials::new(ClientCredentialsConfig {
            client_id: "me".into(),
            ..ClientCredentialsConfig::default()
        })
        .unwrap_err();
        assert_eq!(err.key, "token_url");
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_an_error_not_a_panic() {
        let tokens = ClientCredentials::new(ClientCredentialsConfig {
            client_id: "me".into(),
            token_url: Some("http://127.0.0.1:9/token".into()),
            ..ClientCredentialsConfig::default()
        })
        .unwrap();
        let err = tokens.authorization().await.unwrap_err().to_string();
        assert!(err.contains("127.0.0.1:9"), "{err}");
    }
}
