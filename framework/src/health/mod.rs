//! Health probes: `/health/live`, `/health/ready` (with dependency checks), `/health/startup`.
//!
//! Bodies are `application/health+json`:
//!
//! ```json
//! {"status":"fail","checks":{"database":[{"status":"fail","observedValue":2001.3,
//!   "observedUnit":"ms","output":"timed out after 2s"}]}}
//! ```
//!
//! A failing required check, startup not finished, or shutdown under way make readiness 503.

mod check;
mod config;
mod registry;
mod report;
mod routes;

pub use check::{CheckFuture, CheckResult, FnCheck, HealthCheck, check_fn};
pub use config::HealthConfig;
pub use registry::Health;
pub use report::{CheckReport, HEALTH_JSON, Report, Status};

pub(crate) use config::validate;
pub(crate) use routes::router;
