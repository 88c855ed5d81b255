//! Lifecycle of the real service binaries: startup, readiness, SIGTERM drain, fatal errors.

mod auth;
mod client_config;
mod config_errors;
mod database;
mod secrets;
mod shutdown;
mod startup;
