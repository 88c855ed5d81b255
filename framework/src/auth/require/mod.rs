//! Per-route requirements: [`require_scope`] and [`require_role`] as layers.
//!
//! They run after the [`AuthLayer`](super::AuthLayer) and answer 403 `insufficient_scope`
//! (RFC 6750 §3.1) when the principal lacks the scope or role, 401 when there is no principal.
//! Use `route_layer` so that unmatched paths still answer 404.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use servicekit::auth::{AuthLayer, require_scope};
//!
//! let reads = Router::new()
//!     .route("/students", get(|| async { "[]" }))
//!     .route_layer(require_scope("students:read"));
//! let writes = Router::new()
//!     .route("/students", post(|| async { "created" }))
//!     .route_layer(require_scope("students:write"));
//! let app: Router = reads.merge(writes).layer(AuthLayer::disabled());
//! ```

mod layer;
mod service;

pub use layer::{RequireLayer, Requirement, require_role, require_scope};
pub use service::Require;
