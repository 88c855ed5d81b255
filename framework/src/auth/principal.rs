//! Who made a request: the verified token's subject, scopes, roles and claims.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AuthError;

/// The claims scopes are read from when an issuer names none (`scope_claims`).
pub(crate) const DEFAULT_SCOPE_CLAIMS: &[&str] = &["scope", "scp"];
/// The claims roles are read from when an issuer names none (`role_claims`).
pub(crate) const DEFAULT_ROLE_CLAIMS: &[&str] =
    &["roles", "groups", "cognito:groups", "realm_access.roles"];

/// Which claims of an issuer's tokens hold scopes and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimNames {
    scopes: Vec<String>,
    roles: Vec<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self::new(&[], &[])
    }
}

impl ClaimNames {
    /// The configured names; an empty list means the defaults.
    pub(crate) fn new(scopes: &[String], roles: &[String]) -> Self {
        let or_default = |names: &[String], default: &[&str]| {
            if names.is_empty() {
                default.iter().map(|n| (*n).to_string()).collect()
            } else {
                names.to_vec()
            }
        };
        Self {
            scopes: or_default(scopes, DEFAULT_SCOPE_CLAIMS),
            roles: or_default(roles, DEFAULT_ROLE_CLAIMS),
        }
    }
}

/// The authenticated caller, built from a verified token. Cloning is cheap.
///
/// By default scopes come from the space-delimited `scope` claim and the `scp` claim (array or
/// string); roles from `roles`, `groups`, `cognito:groups` (Amazon Cognito) and
/// `realm_access.roles` (Keycloak). Each issuer can name other claims with `scope_claims` and
/// `role_claims` (Auth0's `permissions`, say).
///
/// ```
/// use servicekit::auth::Principal;
///
/// async fn me(principal: Principal) -> String {
///     format!("{} may write: {}", principal.subject().unwrap_or("?"), principal.has_scope("students:write"))
/// }
/// ```
#[derive(Clone)]
pub struct Principal {
    inner: Arc<Inner>,
}

struct Inner {
    subject: Option<String>,
    issuer: String,
    client_id: Option<String>,
    service: bool,
    scopes: Vec<String>,
    roles: Vec<String>,
    expires_at: u64,
    claims: Value,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Claims may hold personal data: print only the identity.
        f.debug_struct("Principal")
            .field("subject", &self.inner.subject)
            .field("issuer", &self.inner.issuer)
            .field("scopes", &self.inner.scopes)
            .field("roles", &self.inner.roles)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// Builds a principal from verified claims (a JSON object), with the default claim names.
    #[cfg(test)]
    pub(crate) fn from_claims(claims: Value) -> Self {
        Self::from_claims_with(claims, &ClaimNames::default())
    }

    /// Builds a principal from verified claims, reading scopes and roles from `names`.
    pub(crate) fn from_claims_with(claims: Value, names: &ClaimNames) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
        let mut scopes = Vec::new();
        for name in &names.scopes {
            push_words(&mut scopes, claim(&claims, name));
        }
        let mut roles = Vec::new();
        for name in &names.roles {
            push_words(&mut roles, claim(&claims, name));
        }
        dedup(&mut scopes);
        dedup(&mut roles);
        let client_id = text("client_id").or_else(|| text("azp"));
        let service = is_service_token(&claims, text("sub").as_deref(), client_id.as_deref());
        Self {
            inner: Arc::new(Inner {
                subject: text("sub"),
                issuer: text("iss").unwrap_or_default(),
                client_id,
                service,
                scopes,
                roles,
                expires_at: claims.get("exp").and_then(as_seconds).unwrap_or(0),
                claims,
            }),
        }
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The OAuth2 client the token was issued to (`client_id`, else `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// Whether the token was issued to a client acting for itself (OAuth2 client credentials)
    /// rather than to a person: `gty` is `client-credentials` (Auth0), `sub` is the client id
    /// (RFC 9068 §2.2; Amazon Cognito, Okta, oidc-provider) or the client id followed by
    /// `@clients` (Auth0), there is a client id but no `sub`, or `preferred_username` starts
    /// with `service-account-` (Keycloak).
    ///
    /// The server's deadline layer trusts the `x-request-deadline-ms` of such callers
    /// (`server.deadline_trust_service_tokens`).
    pub fn is_service(&self) -> bool {
        self.inner.service
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// The roles and groups.
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// Whether the principal has `role` (or is in the group `role`).
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.roles.iter().any(|r| r == role)
    }

    /// The token's `exp`, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.inner.expires_at
    }

    /// Every claim of the token, as a JSON object.
    pub fn claims(&self) -> &Value {
        &self.inner.claims
    }

    /// The claims deserialized into `T` (see also the [`Claims`](super::Claims) extractor).
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.inner.claims)
    }

    /// A handler-level check: `Err` (a 403 response) unless `scope` was granted.
    ///
    /// ```
    /// # use servicekit::auth::{AuthError, Principal};
    /// async fn delete_all(principal: Principal) -> Result<&'static str, AuthError> {
    ///     principal.require_scope("students:admin")?;
    ///     Ok("deleted")
    /// }
    /// ```
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope(scope.to_string()))
        }
    }

    /// A handler-level check: `Err` (a 403 response) unless the principal has `role`.
    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(AuthError::InsufficientRole(role.to_string()))
        }
    }
}

/// The claim `name`: a top-level claim of that exact name (which may contain dots, as
/// namespaced claims such as `https://example.org/roles` do), else the nested claim the dotted
/// path names (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    claims.get(name).or_else(|| {
        name.contains('.')
            .then(|| {
                name.split('.')
                    .try_fold(claims, |value, part| value.get(part))
            })
            .flatten()
    })
}

/// Whether the claims describe a client credentials token; see [`Principal::is_service`].
fn is_service_token(claims: &Value, sub: Option<&str>, client_id: Option<&str>) -> bool {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("gty") == Some("client-credentials") {
        return true;
    }
    if text("preferred_username").is_some_and(|u| u.starts_with("service-account-")) {
        return true;
    }
    match (sub, client_id) {
        (Some(sub), Some(client)) => sub == client || sub.strip_suffix("@clients") == Some(client),
        (None, Some(_)) => true,
        _ => false,
    }
}

/// Appends the words of a space-delimited string or the strings of an array.
fn push_words(out: &mut Vec<String>, value: Option<&Value>) {
    match value {
        Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(items)) => {
            out.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
        }
        _ => {}
    }
}

fn dedup(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.clone()));
}

/// A NumericDate claim as whole seconds (fractions are allowed by RFC 7519).
pub(crate) fn as_seconds(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_from_scope_and_scp() {
        let p = Principal::from_claims(json!({
            "sub": "u1", "iss": "i", "scope": "a b", "scp": ["b", "c"], "exp": 10
        }));
        assert_eq!(p.scopes(), ["a", "b", "c"]);
        assert!(p.has_scope("c"));
        assert!(p.require_scope("d").is_err());
        assert_eq!(p.subject(), Some("u1"));
        assert_eq!(p.expires_at(), 10);
    }

    #[test]
    fn roles_from_cognito_and_keycloak() {
        let p = Principal::from_claims(json!({
            "cognito:groups": ["admins"], "realm_access": {"roles": ["teacher"]}, "roles": "x"
        }));
        assert_eq!(p.roles(), ["x", "admins", "teacher"]);
        assert!(p.require_role("admins").is_ok());
        assert_eq!(
            p.require_role("root").unwrap_err(),
            AuthError::InsufficientRole("root".into())
        );
    }

    #[test]
    fn configured_claim_names_replace_the_defaults() {
        let claims = json!({
            "scope": "students:read", "permissions": ["students:write"],
            "https://example.org/roles": ["teacher"], "app": {"roles": ["admin"]},
            "groups": ["ignored"]
        });
        let names = ClaimNames::new(
            &["permissions".into()],
            &["https://example.org/roles".into(), "app.roles".into()],
        );
        let p = Principal::from_claims_with(claims.clone(), &names);
        assert_eq!(p.scopes(), ["students:write"]);
        assert_eq!(p.roles(), ["teacher", "admin"]);
        let defaults = Principal::from_claims(claims);
        assert_eq!(defaults.scopes(), ["students:read"]);
        assert_eq!(defaults.roles(), ["ignored"]);
    }

    #[test]
    fn typed_claims_and_client_id() {
        #[derive(serde::Deserialize)]
        struct Custom {
            tenant: String,
        }
        let p = Principal::from_claims(json!({"tenant": "t1", "azp": "web"}));
        assert_eq!(p.claims_as::<Custom>().unwrap().tenant, "t1");
        assert_eq!(p.client_id(), Some("web"));
        assert!(!format!("{p:?}").contains("t1"), "Debug hides claims");
    }

    #[test]
    fn service_tokens_are_told_from_user_tokens() {
        let service = |claims: Value| Principal::from_claims(claims).is_service();
        assert!(service(json!({"sub": "billing", "client_id": "billing"})));
        assert!(service(
            json!({"sub": "billing@clients", "azp": "billing", "gty": "x"})
        ));
        assert!(service(json!({"sub": "u", "gty": "client-credentials"})));
        assert!(service(json!({"client_id": "billing"})));
        assert!(service(json!({"sub": "9f1c", "azp": "billing",
            "preferred_username": "service-account-billing"})));
        assert!(!service(json!({"sub": "ada", "client_id": "web"})));
        assert!(!service(
            json!({"sub": "ada", "azp": "web", "preferred_username": "ada"})
        ));
        assert!(!service(json!({"sub": "ada"})));
        assert!(!service(json!({})));
    }
}
