//! Secrets: the AWS provider against moto's emulator, and references resolved in a service.

mod aws;
mod service;
