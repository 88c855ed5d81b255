//! subject-service API tests: every test runs on SQLite, PostgreSQL and MariaDB, next to a real
//! student-service (on SQLite) started in the same process.

mod enrolments;
mod health;
mod helpers;
mod openapi;
mod subjects;
