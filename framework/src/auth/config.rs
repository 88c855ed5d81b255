//! The `[auth]` configuration section.
//!
//! ```toml
//! [auth]
//! algorithms = ["RS256", "ES256"]
//! leeway = "30s"
//!
//! [[auth.issuers]]
//! issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"
//! audiences = ["4k1example2client3id"]
//! discovery = true
//! token_use = "access"
//! client_id_audience = true
//!
//! [auth.clients.student-service]
//! issuer = "https://idp.example.org"
//! client_id = "subject-service"
//! client_secret = "env://SUBJECT_SERVICE_CLIENT_SECRET"
//! scopes = ["students:read"]
//! ```
//!
//! [`docs/auth.md`](https://github.com/servicekit/servicekit/blob/main/docs/auth.md) describes every key.

use std::collections::BTreeMap;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;
use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[auth]`: verification of incoming tokens and the service's own outgoing tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Whether requests must carry a valid token. Unset means "on when `issuers` is not empty";
    /// `false` switches verification off (a WARN is logged at startup).
    pub enabled: Option<bool>,
    /// The issuers whose tokens are accepted, selected by the token's `iss` claim.
    pub issuers: Vec<IssuerConfig>,
    /// The accepted signature algorithms (default: every asymmetric one, `RS256` .. `EdDSA`).
    /// `none` can never be listed; HMAC (`HS256` ..) must be listed explicitly.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp` and `nbf` (default `30s`).
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// The realm named in `WWW-Authenticate` (default: the service name).
    pub realm: Option<String>,
    /// How often JSON Web Key Sets are refetched in the background (default `10m`).
    #[serde(with = "humantime_serde")]
    pub jwks_refresh: Duration,
    /// Shortest interval between two fetches triggered by an unknown `kid` (default `5s`).
    #[serde(with = "humantime_serde")]
    pub jwks_min_refetch: Duration,
    /// Timeout of each request to an issuer (discovery, JWKS, token endpoint; default `5s`).
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
    /// Verified tokens kept in memory, so repeat requests skip the signature check
    /// (default `10000`; `0` disables the cache).
    pub cache_capacity: usize,
    /// Longest accepted token in bytes (default `8192`); longer ones are rejected unparsed.
    pub max_token_bytes: usize,
    /// Outgoing token sources by name, read with [`Context::token_source`](crate::Context::token_source).
    pub clients: BTreeMap<String, ClientCredentialsConfig>,
    /// The scope strings tokens carry, by the name the code uses (`[auth.scopes]`, e.g.
    /// `"students:read" = "students-api/students.read"` for an Amazon Cognito resource
    /// server); a name not listed is its own scope string. Read with
    /// [`Context::require_scope`](crate::Context::require_scope).
    pub scopes: BTreeMap<String, String>,
    /// The role (or group) names tokens carry, by the name the code uses (`[auth.roles]`); a
    /// name not listed is its own role. Read with
    /// [`Context::require_role`](crate::Context::require_role).
    pub roles: BTreeMap<String, String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            issuers: Vec::new(),
            algorithms: default_algorithms(),
            leeway: Duration::from_secs(30),
            realm: None,
            jwks_refresh: Duration::from_secs(600),
            jwks_min_refetch: Duration::from_secs(5),
            http_timeout: Duration::from_secs(5),
            cache_capacity: 10_000,
            max_token_bytes: 8192,
            clients: BTreeMap::new(),
            scopes: BTreeMap::new(),
            roles: BTreeMap::new(),
        }
    }
}

impl AuthConfig {
    /// Whether verification is on: `enabled`, or by default whether issuers are configured.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(!self.issuers.is_empty())
    }

    /// The scope string tokens carry for the scope the code calls `name` (`[auth.scopes]`).
    pub fn scope<'a>(&'a self, name: &'a str) -> &'a str {
        self.scopes.get(name).map_or(name, String::as_str)
    }

    /// The role tokens carry for the role the code calls `name` (`[auth.roles]`).
    pub fn role<'a>(&'a self, name: &'a str) -> &'a str {
        self.roles.get(name).map_or(name, String::as_str)
    }
}

/// The asymmetric algorithms accepted by default.
pub(crate) fn default_algorithms() -> Vec<Algorithm> {
    vec![
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ]
}

/// One trusted issuer (`[[auth.issuers]]`) and where its verification keys come from.
///
/// Exactly one of `jwks_url`, `discovery`, `hs_secret` and `pem` must be set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value of this issuer's tokens.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one of them.
    pub audiences: Vec<String>,
    /// URL of the issuer's JSON Web Key Set.
    pub jwks_url: Option<String>,
    /// Find the JWKS through `{issuer}/.well-known/openid-configuration`.
    pub discovery: bool,
    /// A shared HMAC secret (for `HS256`/`HS384`/`HS512`).
    pub hs_secret: Option<SecretString>,
    /// One or more PEM public keys (RSA, EC or Ed25519), concatenated.
    pub pem: Option<String>,
    /// Required `token_use` claim, e.g. `access` for Amazon Cognito access tokens.
    pub token_use: Option<String>,
    /// Accept a token without `aud` whose `client_id` is one of `audiences` (Amazon Cognito
    /// access tokens carry no `aud`). Default `false`.
    pub client_id_audience: bool,
    /// The claims the granted scopes are read from, each a space-delimited string or an array
    /// (default `["scope", "scp"]`; Auth0 RBAC: `["permissions"]`). A dotted name that is not
    /// a top-level claim is a path into nested objects.
    pub scope_claims: Vec<String>,
    /// The claims the roles and groups are read from (default `["roles", "groups",
    /// "cognito:groups", "realm_access.roles"]`).
    pub role_claims: Vec<String>,
}

/// Client credentials for calls to another service (`[auth.clients.NAME]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientCredentialsConfig {
    /// The token endpoint; unset means discovery through `issuer`.
    pub token_url: Option<String>,
    /// The issuer whose discovery document names the token endpoint.
    pub issuer: Option<String>,
    /// The OAuth2 client id.
    pub client_id: String,
    /// The client secret (use a secret reference rather than a literal in files).
    pub client_secret: Option<SecretString>,
    /// Scopes to request, sent space-delimited.
    pub scopes: Vec<String>,
    /// RFC 8707 `resource` parameter (oidc-provider, Keycloak with resource indicators).
    pub resource: Option<String>,
    /// `audience` parameter (Auth0).
    pub audience: Option<String>,
    /// Send the credentials in the form body instead of HTTP Basic authentication.
    pub credentials_in_body: bool,
    /// Refresh a cached token this long before it expires (default `60s`), but never before
    /// half its lifetime has passed, so short-lived tokens are not requested on every call.
    #[serde(with = "humantime_serde")]
    pub refresh_before: Duration,
    /// Lifetime assumed when the token response has no `expires_in` (default `60s`).
    #[serde(with = "humantime_serde")]
    pub default_lifetime: Duration,
}

impl ClientCredentialsConfig {
    /// The refresh margin, defaulting to 60 seconds when left at zero.
    pub(crate) fn refresh_margin(&self) -> Duration {
        if self.refresh_before.is_zero() {
            Duration::from_secs(60)
        } else {
            self.refresh_before
        }
    }

    /// The lifetime of a token without `expires_in`, defaulting to 60 seconds when left at zero.
    pub(crate) fn default_lifetime(&self) -> Duration {
        if self.default_lifetime.is_zero() {
            Duration::from_secs(60)
        } else {
            self.default_lifetime
        }
    }
}

/// A configuration value that cannot work, with its dotted key and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct AuthConfigError {
    /// The dotted key, e.g. `auth.issuers.0.audiences`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to correct it.
    pub fix: String,
}

impl AuthConfigError {
    pub(crate) fn new(
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The fix for an `auth` setting that must be an http(s) URL.
const URL_FIX: &str = "set it to the issuer's https URL, e.g. `https://login.example.com/`";

/// The fix for auth turned on without an issuer.
const ISSUER_FIX: &str = "add [[auth.issuers]] with issuer, audiences and a key source \
                          (docs/auth.md), or remove auth.enabled";

/// The environments in which a service without issuers serves unauthenticated (with a WARN)
/// unless told otherwise; anywhere else that needs `auth.enabled = false` said explicitly.
pub(crate) const OPEN_ENVIRONMENTS: &[&str] = &["dev", "test"];

/// Whether a service in `environment` fails closed: outside [`OPEN_ENVIRONMENTS`], missing
/// issuers are an error unless `auth.enabled = false` is set explicitly.
pub(crate) fn validate_for_environment(
    config: &AuthConfig,
    environment: &str,
) -> Result<(), InvalidSetting> {
    validate(config)?;
    if config.issuers.is_empty()
        && config.enabled.is_none()
        && !OPEN_ENVIRONMENTS.contains(&environment)
    {
        return Err(InvalidSetting::new(
            "auth.issuers",
            format!(
                "no token issuer is configured and service.environment is `{environment}`, so \
                 every request would be served unauthenticated; outside dev and test that is \
                 refused"
            ),
            "add [[auth.issuers]] (docs/auth.md), or set auth.enabled = false \
             (SERVICEKIT__AUTH__ENABLED=false) to serve without authentication on purpose",
        ));
    }
    Ok(())
}

/// Checks the rules serde cannot express.
pub(crate) fn validate(config: &AuthConfig) -> Result<(), InvalidSetting> {
    if config.enabled == Some(true) && config.issuers.is_empty() {
        return Err(InvalidSetting::new(
            "auth.enabled",
            "is true but no issuer is configured",
            ISSUER_FIX,
        ));
    }
    if config.algorithms.is_empty() {
        return Err(InvalidSetting::new(
            "auth.algorithms",
            "must list at least one algorithm",
            "list the algorithms your issuers sign with, e.g. `[\"RS256\"]` or \
             `[\"RS256\", \"ES256\"]`",
        ));
    }
    if config.jwks_refresh < Duration::from_secs(1) {
        return Err(InvalidSetting::new(
            "auth.jwks_refresh",
            "must be at least 1s",
            "set it to how often the key sets are fetched again, e.g. `5m` \
             (SERVICEKIT__AUTH__JWKS_REFRESH)",
        ));
    }
    if config.max_token_bytes < 64 {
        return Err(InvalidSetting::new(
            "auth.max_token_bytes",
            "must be at least 64",
            "set it to the largest bearer token in bytes, e.g. `8192` \
             (SERVICEKIT__AUTH__MAX_TOKEN_BYTES)",
        ));
    }
    if config.leeway > Duration::from_secs(3600) {
        return Err(InvalidSetting::new(
            "auth.leeway",
            "must be at most 1h",
            "set it to the clock skew to tolerate, e.g. `60s` (SERVICEKIT__AUTH__LEEWAY)",
        ));
    }
    for (table, map) in [("scopes", &config.scopes), ("roles", &config.roles)] {
        if let Some((name, _)) = map.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(InvalidSetting::new(
                format!("auth.{table}.{name}"),
                "must not be empty",
                format!(
                    "set it to the string tokens carry, e.g. `{name} = \"students:read\"`, \
                     or remove the entry"
                ),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, issuer) in config.issuers.iter().enumerate() {
        let key = |k: &str| format!("auth.issuers.{i}.{k}");
        if issuer.issuer.is_empty() {
            return Err(InvalidSetting::new(
                key("issuer"),
                "must not be empty",
                "set it to the `iss` claim of the tokens, e.g. `https://login.example.com/`",
            ));
        }
        if !seen.insert(issuer.issuer.as_str()) {
            return Err(InvalidSetting::new(
                key("issuer"),
                format!("issuer `{}` is listed twice", issuer.issuer),
                "merge the two [[auth.issuers]] entries into one, listing all audiences there",
            ));
        }
        if issuer.audiences.iter().all(String::is_empty) {
            return Err(InvalidSetting::new(
                key("audiences"),
                "must list at least one accepted audience",
                "list the `aud` values this service accepts (the API identifier or client id), \
                 e.g. `[\"student-service\"]`",
            ));
        }
        let sources = [
            issuer.jwks_url.is_some(),
            issuer.discovery,
            issuer.hs_secret.is_some(),
            issuer.pem.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(InvalidSetting::new(
                format!("auth.issuers.{i}"),
                "must name exactly one source of keys",
                "set exactly one of jwks_url, discovery = true, hs_secret, pem, e.g. \
                 `discovery = true` for an OIDC provider",
            ));
        }
        if let Some(url) = &issuer.jwks_url {
            check_url(&key("jwks_url"), url)?;
        }
        if issuer.discovery {
            check_url(&key("issuer"), &issuer.issuer)?;
        }
        for (field, names) in [
            ("scope_claims", &issuer.scope_claims),
            ("role_claims", &issuer.role_claims),
        ] {
            if names.iter().any(|n| n.is_empty()) {
                return Err(InvalidSetting::new(
                    key(field),
                    "must not name an empty claim",
                    "remove the empty name, or name the claim, e.g. `[\"scope\", \"scp\"]`",
                ));
            }
        }
    }
    for (name, client) in &config.clients {
        let key = |k: &str| format!("auth.clients.{name}.{k}");
        if client.client_id.is_empty() {
            return Err(InvalidSetting::new(
                key("client_id"),
                "must not be empty",
                "set it to the client id the issuer registered for this service, e.g. \
                 `student-service`",
            ));
        }
        match (&client.token_url, &client.issuer) {
            (Some(url), _) => check_url(&key("token_url"), url)?,
            (None, Some(issuer)) => check_url(&key("issuer"), issuer)?,
            (None, None) => {
                return Err(InvalidSetting::new(
                    format!("auth.clients.{name}"),
                    "has no token endpoint",
                    "set token_url, e.g. `https://login.example.com/oauth/token`, or issuer to \
                     find the token endpoint by discovery",
                ));
            }
        }
    }
    Ok(())
}

fn check_url(key: &str, value: &str) -> Result<(), InvalidSetting> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(InvalidSetting::new(key, "must be an http(s) URL", URL_FIX)),
        Err(e) => Err(InvalidSetting::new(key, format!("not a URL: {e}"), URL_FIX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> IssuerConfig {
        IssuerConfig {
            issuer: "https://idp.example.org".into(),
            audiences: vec!["api".into()],
            discovery: true,
            ..IssuerConfig::default()
        }
    }

    #[test]
    fn enabled_follows_issuers_unless_set() {
        let mut config = AuthConfig::default();
        assert!(!config.is_enabled());
        config.issuers.push(issuer());
        assert!(config.is_enabled());
        config.enabled = Some(false);
        assert!(!config.is_enabled());
    }

    #[test]
    fn enabled_without_issuers_names_the_switch() {
        let config = AuthConfig {
            enabled: Some(true),
            ..AuthConfig::default()
        };
        assert_eq!(validate(&config).unwrap_err().key, "auth.enabled");
    }

    #[test]
    fn outside_dev_and_test_missing_issuers_fail_closed() {
        let config = AuthConfig::default();
        for env in ["dev", "test"] {
            assert!(validate_for_environment(&config, env).is_ok(), "{env}");
        }
        for env in ["prod", "staging", ""] {
            let err = validate_for_environment(&config, env).unwrap_err();
            assert_eq!(err.key, "auth.issuers", "{env}");
            assert!(err.fix.contains("auth.enabled = false"), "{err}");
        }
        let off = AuthConfig {
            enabled: Some(false),
            ..AuthConfig::default()
        };
        assert!(validate_for_environment(&off, "prod").is_ok());
        let mut with_issuer = AuthConfig::default();
        with_issuer.issuers.push(issuer());
        assert!(validate_for_environment(&with_issuer, "prod").is_ok());
    }

    #[test]
    fn one_key_source_per_issuer() {
        let mut config = AuthConfig::default();
        let mut both = issuer();
        both.jwks_url = Some("https://idp.example.org/jwks".into());
        config.issuers.push(both);
        let err = validate(&config).unwrap_err();
        assert_eq!(err.key, "auth.issuers.0");
        config.issuers[0].discovery = false;
        assert!(validate(&config).is_ok());
    }

    #[test]
    fn audiences_are_required() {
        let mut config = AuthConfig::default();
        let mut no_aud = issuer();
        no_aud.audiences.clear();
        config.issuers.push(no_aud);
        assert_eq!(
            validate(&config).unwrap_err().key,
            "auth.issuers.0.audiences"
        );
    }

    #[test]
    fn deserializes_algorithms_and_durations() {
        let config: AuthConfig = serde_json::from_value(serde_json::json!({
            "algorithms": ["ES256", "HS256"],
            "leeway": "5s",
            "issuers": [{"issuer": "x", "audiences": ["a"], "hs_secret": "s"}]
        }))
        .unwrap();
        assert_eq!(config.algorithms, [Algorithm::ES256, Algorithm::HS256]);
        assert_eq!(config.leeway, Duration::from_secs(5));
        assert!(
            serde_json::from_value::<AuthConfig>(serde_json::json!({"algorithms": ["none"]}))
                .is_err()
        );
    }

    #[test]
    fn clients_need_an_endpoint() {
        let mut config = AuthConfig::default();
        config.clients.insert(
            "students".into(),
            ClientCredentialsConfig {
                client_id: "me".into(),
                ..ClientCredentialsConfig::default()
            },
        );
        assert_eq!(validate(&config).unwrap_err().key, "auth.clients.students");
    }
}
