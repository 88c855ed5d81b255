//! student-service with its database credentials in AWS Secrets Manager (moto): startup,
//! errors, redaction, and rotation under load (PostgreSQL roles, and a MariaDB password).

mod mariadb;
mod pg;
mod rotation;
mod startup;
