//! Which quota counts a request: the one of its `[rate_limit.routes."METHOD /template"]` entry,
//! else the default. Shared by the in-process buckets and the Redis store.

use std::collections::HashMap;

use axum::http::Method;

use super::config::{RateLimitConfig, RouteLimit, parse_route};

/// The default quota and one per overridden route, of any quota type `Q`.
#[derive(Debug)]
pub(crate) struct Quotas<Q> {
    default: Q,
    routes: HashMap<(Method, String), Q>,
}

impl<Q> Quotas<Q> {
    /// `default`, and `route(name, limit)` for each route of a configuration that passed
    /// validation; entries that would have failed it (`None`) are skipped.
    pub(crate) fn new(
        config: &RateLimitConfig,
        default: Q,
        mut route: impl FnMut(&str, &RouteLimit) -> Option<Q>,
    ) -> Self {
        let routes = config
            .routes
            .iter()
            .filter_map(|(name, limit)| Some((parse_route(name).ok()?, route(name, limit)?)))
            .collect();
        Self { default, routes }
    }

    /// The quota of `method route` (the matched template, if any).
    pub(crate) fn get(&self, method: &Method, route: Option<&str>) -> &Q {
        route
            .and_then(|r| self.routes.get(&(method.clone(), r.to_string())))
            .unwrap_or(&self.default)
    }

    /// The default quota.
    pub(crate) fn default_quota(&self) -> &Q {
        &self.default
    }

    /// Every quota, the default first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Q> {
        std::iter::once(&self.default).chain(self.routes.values())
    }

    /// The overridden routes.
    pub(crate) fn routes(&self) -> impl Iterator<Item = &(Method, String)> {
        self.routes.keys()
    }
}
