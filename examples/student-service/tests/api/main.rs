//! student-service API tests: every test runs on SQLite, PostgreSQL and MariaDB.

mod auth;
mod cache;
mod events;
mod health;
mod helpers;
mod openapi;
mod rate_limit;
mod students;
