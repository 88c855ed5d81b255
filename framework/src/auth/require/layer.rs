use std::sync::Arc;

use tower::Layer;

use super::Require;
use crate::auth::{AuthError, Principal};

/// What a route requires of the principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The token must grant this scope.
    Scope(String),
    /// The principal must have this role (or be in this group).
    Role(String),
}

impl Requirement {
    /// `Ok` if `principal` meets the requirement, else the 403 error.
    pub fn check(&self, principal: &Principal) -> Result<(), AuthError> {
        match self {
            Self::Scope(scope) => principal.require_scope(scope),
            Self::Role(role) => principal.require_role(role),
        }
    }
}

/// Layer that lets a request through only if its principal meets a [`Requirement`].
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
}

impl RequireLayer {
    /// A layer enforcing `requirement`.
    pub fn new(requirement: Requirement) -> Self {
        Self {
            requirement: Arc::new(requirement),
        }
    }

    /// The requirement.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Require::new(inner, self.requirement.clone())
    }
}

/// Requires the scope `scope` (from `scope` or `scp`); answers 403 `insufficient_scope`.
pub fn require_scope(scope: impl Into<String>) -> RequireLayer {
    RequireLayer::new(Requirement::Scope(scope.into()))
}

/// Requires the role or group `role` (from `roles`, `groups`, `cognito:groups` or
/// `realm_access.roles`); answers 403.
pub fn require_role(role: impl Into<String>) -> RequireLayer {
    RequireLayer::new(Requirement::Role(role.into()))
}
