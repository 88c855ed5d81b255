//! One trusted issuer: its keys and the claim rules its tokens must meet.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::config::IssuerConfig;
use super::keys::KeyStore;
use super::principal::ClaimNames;
use super::{AuthError, Principal};

/// A configured issuer, ready to check tokens.
pub(crate) struct TrustedIssuer {
    audiences: HashSet<String>,
    token_use: Option<String>,
    client_id_audience: bool,
    claim_names: ClaimNames,
    pub(crate) keys: Arc<KeyStore>,
    /// One validation per accepted algorithm: jsonwebtoken checks that every algorithm of a
    /// validation belongs to the key's family, so each carries exactly one.
    validations: HashMap<Algorithm, Validation>,
}

impl TrustedIssuer {
    pub(crate) fn new(
        config: &IssuerConfig,
        keys: Arc<KeyStore>,
        algorithms: &[Algorithm],
        leeway: u64,
    ) -> Self {
        let validations = algorithms
            .iter()
            .map(|alg| {
                let mut v = Validation::new(*alg);
                v.leeway = leeway;
                v.validate_exp = true;
                v.validate_nbf = true;
                // `aud` is checked here (it may be Cognito's `client_id` instead).
                v.validate_aud = false;
                v.set_issuer(&[config.issuer.as_str()]);
                v.set_required_spec_claims(&["exp", "iss"]);
                (*alg, v)
            })
            .collect();
        Self {
            audiences: config.audiences.iter().cloned().collect(),
            token_use: config.token_use.clone(),
            client_id_audience: config.client_id_audience,
            claim_names: ClaimNames::new(&config.scope_claims, &config.role_claims),
            keys,
            validations,
        }
    }

    /// The validation for `alg` (which the caller has checked is accepted).
    pub(crate) fn validation(&self, alg: Algorithm) -> Option<&Validation> {
        self.validations.get(&alg)
    }

    /// The principal of verified `claims`, with scopes and roles from this issuer's claims.
    pub(crate) fn principal(&self, claims: Value) -> Principal {
        Principal::from_claims_with(claims, &self.claim_names)
    }

    /// The checks jsonwebtoken does not do: audience (or `client_id`) and `token_use`.
    pub(crate) fn check_claims(&self, claims: &Value) -> Result<(), AuthError> {
        if !claims.is_object() {
            return Err(AuthError::InvalidClaims);
        }
        let accepted = |v: &Value| v.as_str().is_some_and(|a| self.audiences.contains(a));
        let audience_ok = match claims.get("aud") {
            Some(Value::Array(items)) => items.iter().any(accepted),
            Some(aud @ Value::String(_)) => accepted(aud),
            None | Some(Value::Null) => {
                self.client_id_audience && claims.get("client_id").is_some_and(accepted)
            }
            Some(_) => false,
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }
        if let Some(expected) = &self.token_use
            && claims.get("token_use").and_then(Value::as_str) != Some(expected.as_str())
        {
            return Err(AuthError::WrongTokenUse);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::KeySet;
    use serde_json::json;

    fn issuer(token_use: Option<&str>, client_id_audience: bool) -> TrustedIssuer {
        let config = IssuerConfig {
            issuer: "iss".into(),
            audiences: vec!["api".into()],
            token_use: token_use.map(str::to_string),
            client_id_audience,
            ..IssuerConfig::default()
        };
        let keys = Arc::new(KeyStore::fixed("iss", KeySet::default()));
        TrustedIssuer::new(&config, keys, &[Algorithm::RS256], 0)
    }

    #[test]
    fn audience_as_string_or_array() {
        let i = issuer(None, false);
        assert!(i.check_claims(&json!({"aud": "api"})).is_ok());
        assert!(i.check_claims(&json!({"aud": ["x", "api"]})).is_ok());
        assert_eq!(
            i.check_claims(&json!({"aud": "other"})),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(i.check_claims(&json!({})), Err(AuthError::WrongAudience));
    }

    #[test]
    fn cognito_access_tokens_use_client_id_and_token_use() {
        let i = issuer(Some("access"), true);
        assert!(
            i.check_claims(&json!({"client_id": "api", "token_use": "access"}))
                .is_ok()
        );
        assert_eq!(
            i.check_claims(&json!({"client_id": "api", "token_use": "id"})),
            Err(AuthError::WrongTokenUse)
        );
        assert_eq!(
            issuer(None, false).check_claims(&json!({"client_id": "api"})),
            Err(AuthError::WrongAudience)
        );
    }

    #[test]
    fn one_algorithm_per_validation() {
        let i = issuer(None, false);
        assert_eq!(
            i.validation(Algorithm::RS256).unwrap().algorithms,
            [Algorithm::RS256]
        );
        assert!(i.validation(Algorithm::HS256).is_none());
    }
}
