//! Test support (feature `testing`): [`TestApp`] runs a service on port 0, [`TestDatabase`]
//! gives each test its own database on a real PostgreSQL or MySQL/MariaDB server, and
//! [`TestIssuer`] is an OpenID issuer on port 0 that mints real signed tokens.

mod app;
mod database;
mod issuer;

pub use app::TestApp;
pub use database::{MYSQL_URL_VAR, POSTGRES_URL_VAR, TestDatabase};
pub use issuer::{TestIssuer, TokenBuilder};
