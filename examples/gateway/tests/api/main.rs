//! gateway tests: a real gateway (`TestApp`) in front of real upstreams: student-service and
//! subject-service started in-process, or small axum upstreams where a behaviour needs one.

mod edge;
mod headers;
mod health;
mod helpers;
mod releases;
mod reload;
mod routing;
mod streaming;
