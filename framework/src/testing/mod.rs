//! Test support (feature `testing`): [`TestApp`] runs a service on port 0, [`TestDatabase`]
//! gives each test its own database on a real PostgreSQL or MySQL/MariaDB server.

mod app;
mod database;

pub use app::TestApp;
pub use database::{MYSQL_URL_VAR, POSTGRES_URL_VAR, TestDatabase};
