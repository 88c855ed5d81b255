//! HTTP routes of subject-service.

mod enrolments;
mod paging;
mod subjects;

use axum::Router;
use servicekit::prelude::*;
use servicekit::server::RateLimitLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Settings;
use crate::students::Students;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's pool.
    pub db: Database,
    /// The `[app]` settings.
    pub settings: Settings,
    /// student-service, through the resilient client.
    pub students: Students,
}

/// The scope needed to read subjects and enrolments.
pub const READ_SCOPE: &str = "subjects:read";
/// The scope needed to change subjects and enrol students.
pub const WRITE_SCOPE: &str = "subjects:write";

/// The scope strings the routes require, read from `[auth.scopes]` so that an identity
/// provider's own names work without code changes (an Amazon Cognito resource server's
/// `subjects-api/subjects.read`, say); by default [`READ_SCOPE`] and [`WRITE_SCOPE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    /// What reads require.
    pub read: String,
    /// What writes require.
    pub write: String,
}

impl Default for Scopes {
    fn default() -> Self {
        Self {
            read: READ_SCOPE.into(),
            write: WRITE_SCOPE.into(),
        }
    }
}

impl Scopes {
    /// The scopes configured for [`READ_SCOPE`] and [`WRITE_SCOPE`] in `[auth.scopes]`.
    pub fn from_context(ctx: &Context) -> Self {
        Self {
            read: ctx.scope(READ_SCOPE),
            write: ctx.scope(WRITE_SCOPE),
        }
    }
}

/// The `/subjects` and enrolment routes with their OpenAPI description: reads need
/// [`READ_SCOPE`], writes [`WRITE_SCOPE`] (the handlers' `security` attributes say the same).
fn routes(scopes: &Scopes) -> OpenApiRouter<AppState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(subjects::list))
        .routes(routes!(subjects::get))
        .routes(routes!(enrolments::list))
        .routes(routes!(enrolments::get))
        .route_layer(require_scope(&scopes.read));
    let writes = OpenApiRouter::new()
        .routes(routes!(subjects::create))
        .routes(routes!(subjects::update, subjects::delete))
        .routes(routes!(enrolments::create))
        .route_layer(require_scope(&scopes.write));
    reads.merge(writes)
}

/// The routes, every request with a token verified by `auth` (everything passes when `[auth]`
/// is not configured).
/// `limit` throttles per verified subject, API key or IP when `[rate_limit]` is enabled (it sits
/// inside `auth`, so it sees the verified caller).
pub fn router(state: AppState, scopes: &Scopes, auth: AuthLayer, limit: RateLimitLayer) -> Router {
    let (router, _) = routes(scopes).split_for_parts();
    router.with_state(state).layer(limit).layer(auth)
}

/// The OpenAPI document of the routes, served at `/openapi.json`.
pub fn openapi() -> OpenApi {
    routes(&Scopes::default()).into_openapi()
}
