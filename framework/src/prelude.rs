//! The names most services need: `use servicekit::prelude::*;`.

pub use crate::auth::{Claims, Principal, require_scope};
pub use crate::db::Database;
pub use crate::health::{HealthCheck, check_fn};
#[cfg(feature = "macros")]
pub use crate::microservice;
pub use crate::server::{Json, Problem};
pub use crate::{BoxError, Context, Service};
