//! JWT authentication and authorization for incoming requests, and tokens for outgoing ones.
//!
//! - [`Verifier`]: checks bearer tokens from one or more issuers: signature with an explicit
//!   algorithm allowlist (the key must match the algorithm's type, so an HMAC secret never
//!   verifies an RSA token and vice versa), `exp`/`nbf` with leeway, `iss`, `aud` (or Amazon
//!   Cognito's `client_id` + `token_use`) and the header `typ` (`JWT`, `at+jwt` or none).
//!   Keys come from an HMAC secret, PEM public keys, a JWKS URL or OpenID discovery; key sets
//!   are refreshed in the background and refetched (rate-limited) on an unknown `kid`, and
//!   the last good set is kept while the issuer is down.
//! - A verified-token cache: the same token is verified once until it expires.
//! - [`AuthLayer`] (from [`Context::auth`](crate::Context::auth)) and the extractors
//!   [`Principal`], [`Claims<T>`] and [`PassThrough`]; [`require_scope`] and [`require_role`]
//!   per route.
//! - [`TokenSource`] for outgoing calls: [`ClientCredentials`] and [`PassThrough`].
//!
//! Configuration is the `[auth]` section ([`AuthConfig`]); [`docs/auth.md`](https://github.com/servicekit/servicekit/blob/main/docs/auth.md) shows setups for
//! Amazon Cognito, Keycloak, Auth0 and any OpenID provider.

mod authenticate;
mod cache;
mod config;
mod error;
mod extract;
mod issuer;
mod keys;
mod outgoing;
mod principal;
mod require;
mod rotation;
mod setup;
mod verifier;

pub use authenticate::{Auth, AuthLayer};
pub use cache::{CACHE_HITS, CACHE_MISSES};
pub use config::{AuthConfig, AuthConfigError, ClientCredentialsConfig, IssuerConfig};
pub use error::AuthError;
pub use extract::Claims;
pub use jsonwebtoken::Algorithm;
pub use outgoing::{ClientCredentials, PassThrough, TokenSource};
pub use principal::Principal;
pub use require::{Require, RequireLayer, Requirement, require_role, require_scope};
pub use setup::UnknownClient;
pub use verifier::Verifier;

pub(crate) use config::validate_for_environment as validate_config;
pub(crate) use rotation::follow_secrets as follow_auth_secrets;
pub(crate) use setup::AuthRuntime;
