//! The names most services need, in one import:
//!
//! ```
//! use servicekit::prelude::*;
//!
//! async fn hello(principal: Principal) -> Result<Json<String>, Problem> {
//!     Ok(Json(principal.subject().unwrap_or("anonymous").to_string()))
//! }
//! ```
//!
//! It holds the service's entry points ([`Service`], [`ServiceBuilder`], [`Context`], and
//! the macros), the handler's types ([`Json`], [`Problem`], [`Principal`], [`Claims`]), the
//! per-route requirements, the database and client handles and the health-check hook. Names
//! for less common needs stay in their modules (`servicekit::server`, `servicekit::config`, ...).

pub use crate::auth::{AuthLayer, Claims, Principal, require_role, require_scope};
pub use crate::client::{ClientError, ServiceClient};
pub use crate::db::{Database, Migrations};
pub use crate::health::{HealthCheck, check_fn};
pub use crate::server::{Json, Problem};
pub use crate::{BoxError, Context, Service, ServiceBuilder};
#[cfg(feature = "macros")]
pub use crate::{embed_migrations, microservice};
