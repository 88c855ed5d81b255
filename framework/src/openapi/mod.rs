//! The service's OpenAPI 3.1 document, served as JSON at `openapi.path` (default `/openapi.json`).
//!
//! A service describes its own routes, typically with `utoipa`'s `#[utoipa::path]` and
//! `utoipa_axum::router::OpenApiRouter`, and hands the document to
//! [`ServiceBuilder::openapi`](crate::ServiceBuilder::openapi). servicekit then [`complete`]s it
//! with what every servicekit route shares, so a service does not repeat it per operation:
//!
//! - `info.title` and `info.version` from the service's name and version;
//! - the `Problem` schema ([RFC 9457](https://www.rfc-editor.org/rfc/rfc9457)) and a `default`
//!   `application/problem+json` response on every operation (400, 404, 413, 415, 422, 429, 500
//!   and 503 all leave as problems);
//! - the [`BEARER`] security scheme (an HTTP bearer JWT), and `401`/`403` responses with their
//!   `WWW-Authenticate` header ([RFC 6750](https://www.rfc-editor.org/rfc/rfc6750)) on every
//!   operation that names it in `security`. OpenAPI 3.1 lets a bearer requirement list the
//!   scopes it needs: `security(("bearer" = ["students:read"]))`.
//!
//! Everything but the `[openapi]` section ([`OpenApiConfig`]) needs the `openapi` feature; the
//! section is always compiled, so one configuration file serves builds with and without it.
//!
#![cfg_attr(feature = "openapi", doc = "```")]
#![cfg_attr(not(feature = "openapi"), doc = "```ignore")]
//! use axum::Json;
//! use utoipa_axum::{router::OpenApiRouter, routes};
//!
//! /// Says hello.
//! #[utoipa::path(get, path = "/hello", security(("bearer" = ["hello:read"])),
//!     responses((status = 200, description = "A greeting", body = String)))]
//! async fn hello() -> Json<&'static str> {
//!     Json("hello")
//! }
//!
//! let (router, spec) = OpenApiRouter::new().routes(routes!(hello)).split_for_parts();
//! let spec = servicekit::openapi::complete(spec, "hello-service", "1.0.0");
//! let json = serde_json::to_value(&spec).unwrap();
//! assert_eq!(json["openapi"], "3.1.0");
//! assert!(json["paths"]["/hello"]["get"]["responses"]["401"].is_object());
//! # let _: axum::Router = router;
//! ```

#[cfg(feature = "openapi")]
mod complete;
mod config;
#[cfg(feature = "openapi")]
mod problem;
#[cfg(feature = "openapi")]
mod route;

#[cfg(feature = "openapi")]
pub use complete::{BEARER, complete};
pub use config::OpenApiConfig;
pub(crate) use config::validate;
#[cfg(feature = "openapi")]
pub(crate) use route::router;
