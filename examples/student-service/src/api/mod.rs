//! HTTP routes of student-service.

mod students;

use axum::Router;
use servicekit::events::Events;
use servicekit::prelude::*;
use servicekit::server::RateLimitLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Settings;
use crate::cached::StudentCache;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service's pool.
    pub db: Database,
    /// The `[app]` settings.
    pub settings: Settings,
    /// Where writes stage `student.*` events (see [`crate::events`]).
    pub events: Events,
    /// Where `GET /students/{id}` reads through the cache (see [`crate::cached`]).
    pub cache: StudentCache,
}

/// The scope needed to read students.
pub const READ_SCOPE: &str = "students:read";
/// The scope needed to create, update and delete students.
pub const WRITE_SCOPE: &str = "students:write";

/// The scope strings the routes require, read from `[auth.scopes]` so that an identity
/// provider's own names work without code changes (an Amazon Cognito resource server's
/// `students-api/students.read`, say); by default [`READ_SCOPE`] and [`WRITE_SCOPE`].
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

/// The `/students` routes with their OpenAPI description: reads need [`READ_SCOPE`], writes
/// [`WRITE_SCOPE`] (the handlers' `security` attributes say the same for the document).
fn routes(scopes: &Scopes) -> OpenApiRouter<AppState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(students::list))
        .routes(routes!(students::get))
        .route_layer(require_scope(&scopes.read));
    let writes = OpenApiRouter::new()
        .routes(routes!(students::create))
        .routes(routes!(students::update, students::delete))
        .route_layer(require_scope(&scopes.write));
    reads.merge(writes)
}

/// The `/students` routes, every request with a token verified by `auth` (which lets everything
/// through when `[auth]` is not configured).
/// `limit` throttles per verified subject, API key or IP when `[rate_limit]` is enabled (it sits
/// inside `auth`, so it sees the verified caller).
pub fn router(state: AppState, scopes: &Scopes, auth: AuthLayer, limit: RateLimitLayer) -> Router {
    let (router, _) = routes(scopes).split_for_parts();
    router.with_state(state).layer(limit).layer(auth)
}

/// The OpenAPI document of the `/students` routes, served at `/openapi.json`.
pub fn openapi() -> OpenApi {
    routes(&Scopes::default()).into_openapi()
}
