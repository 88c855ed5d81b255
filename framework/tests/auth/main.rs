//! Auth end to end: real services on port 0, real tokens from `TestIssuer` and from the
//! `oidc-provider` npm package, through the real verification path.

mod client_credentials;
mod deadlines;
mod helpers;
mod keys;
mod oidc_provider;
mod rejections;
mod rotation;
mod scopes;
