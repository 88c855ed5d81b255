//! [`require_peer`]: a layer that lets a request through only from a mutual-TLS client whose
//! verified certificate names one of the allowed identities; others get 403 problem+json.
//!
//! ```
//! use axum::{Router, routing::post};
//! use servicekit::tls::require_peer;
//!
//! let internal: Router = Router::new()
//!     .route("/internal/rebuild", post(|| async { "ok" }))
//!     .route_layer(require_peer(["spiffe://school/subject-service"]));
//! ```

mod layer;
mod service;

pub use layer::{RequirePeerLayer, require_peer};
pub use service::RequirePeer;
