//! The tower middleware that verifies the bearer token of every request.
//!
//! On success the request continues with a [`Principal`](super::Principal) and the caller's
//! token (for [`PassThrough`](super::PassThrough)) in its extensions, and a service token's
//! `x-request-deadline-ms` becomes the request's deadline (see
//! [`RequestDeadlineLayer`](crate::server::RequestDeadlineLayer)); on failure it is answered
//! with 401 (or 503 while no key could ever be loaded) as problem+json with an RFC 6750
//! `WWW-Authenticate` challenge. Tokens are never logged.

mod layer;
mod service;

pub use layer::AuthLayer;
pub use service::Auth;

/// Marks a request that passed an [`AuthLayer::disabled`] layer, so that scope and role
/// requirements let it through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthDisabled;
