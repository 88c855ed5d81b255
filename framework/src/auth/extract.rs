//! axum extractors: [`Principal`], `Option<Principal>` and [`Claims<T>`].

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{AuthError, Principal};

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(AuthError::Unauthenticated)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

/// The verified token's claims deserialized into `T`.
///
/// A token whose claims do not fit `T` is rejected with 401 `invalid_token`.
///
/// ```
/// use servicekit::auth::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct Tenant {
///     tenant_id: String,
/// }
///
/// async fn handler(Claims(tenant): Claims<Tenant>) -> String {
///     tenant.tenant_id
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .ok_or(AuthError::Unauthenticated)?;
        principal
            .claims_as()
            .map(Claims)
            .map_err(|_| AuthError::InvalidClaims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(principal: Option<Principal>) -> Parts {
        let mut req = Request::new(());
        if let Some(p) = principal {
            req.extensions_mut().insert(p);
        }
        req.into_parts().0
    }

    #[tokio::test]
    async fn principal_is_required_unless_optional() {
        let mut p = parts(None);
        let err = <Principal as FromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::Unauthenticated);
        let none = <Principal as OptionalFromRequestParts<()>>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn claims_deserialize_or_reject() {
        #[derive(serde::Deserialize)]
        struct Custom {
            tenant: String,
        }
        let principal = Principal::from_claims(serde_json::json!({"tenant": "t1"}));
        let mut p = parts(Some(principal));
        let Claims(c) = Claims::<Custom>::from_request_parts(&mut p, &())
            .await
            .unwrap();
        assert_eq!(c.tenant, "t1");
        #[derive(Debug, serde::Deserialize)]
        struct Other {
            #[allow(dead_code)]
            missing: u32,
        }
        let err = Claims::<Other>::from_request_parts(&mut p, &())
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::InvalidClaims);
    }
}
