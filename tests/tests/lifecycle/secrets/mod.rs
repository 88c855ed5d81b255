//! student-service with its database credentials in AWS Secrets Manager (moto): startup,
//! errors, redaction, and rotation under load.

mod pg;
mod rotation;
mod startup;
