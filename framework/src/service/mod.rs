//! The builder, the context handed to user code, and the lifecycle of a running service.

mod builder;
mod context;
mod database;
mod deferred;
mod error;
mod healthcheck;
mod lifecycle;
mod ops;
mod routes;
mod secret_tasks;

pub use builder::{Service, ServiceBuilder};
pub use context::Context;
pub use error::{Error, NoDatabase, StartupError};
pub use routes::IntoRoutes;
