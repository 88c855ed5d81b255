//! Test support (feature `testing`): [`TestApp`] runs a service on port 0, [`TestDatabase`]
//! gives each test its own database on a real PostgreSQL or MySQL/MariaDB server, and
//! [`TestIssuer`] is an OpenID issuer on port 0 that mints real signed tokens;
//! [`MotoServer`] runs moto's AWS emulator for Secrets Manager and SNS + SQS tests, and
//! [`RedisServer`] a private Redis that a test may stop and start. [`eventually`] polls a
//! condition instead of sleeping. [`TestCa`] issues server and client certificates per test
//! (SPIFFE IDs for mutual TLS) and [`TlsFiles`] holds them as the PEM files a service reads.

mod app;
mod database;
mod eventually;
mod issuer;
#[cfg(feature = "aws")]
mod moto;
mod pki;
#[cfg(feature = "cache")]
mod redis;
mod requests;

pub use app::TestApp;
pub use database::{MYSQL_URL_VAR, POSTGRES_URL_VAR, TestDatabase};
pub use eventually::{EVENTUALLY_TIMEOUT, eventually, eventually_within};
pub use issuer::{TestIssuer, TokenBuilder};
#[cfg(feature = "aws")]
pub use moto::{MOTO_CREDENTIAL, MOTO_INSTALL, MOTO_REGION, MotoServer};
pub use pki::{TestCa, TestCert, TlsFiles};
#[cfg(feature = "cache")]
pub use redis::RedisServer;
pub use requests::Requests;
