//! Telemetry set up in one place: logs, OpenTelemetry traces and Prometheus metrics.
//!
//! - Logs: a `tracing` subscriber, pretty in development, JSON elsewhere; inside a request every
//!   line carries `request_id`, `trace_id` and `span_id`.
//! - Traces: OTLP export (http/protobuf or grpc) when an endpoint is configured, batched on a
//!   background thread so export never blocks or fails a request; W3C `traceparent` is read from
//!   incoming requests and sent on outgoing calls, with or without an exporter. Users never name an `opentelemetry*` crate: servicekit owns the versions.
//! - Metrics: a Prometheus recorder behind the `metrics` facade, served on `/metrics`; every
//!   metric servicekit emits is listed, with its type, unit, HELP text and labels, in [`catalog`].
//! - Log lines leave the request path through a bounded queue and a writer thread
//!   (`log_writer`), written out when the service shuts down.

pub mod catalog;
mod config;
mod correlation;
mod error;
mod json;
mod log_writer;
mod otel;
pub mod prometheus;
mod short_text;
mod subscriber;
mod trace_ids;

pub use config::{LogConfig, LogFormat, OtlpProtocol, TelemetryConfig};
pub use error::TelemetryError;
pub use otel::{current_trace_context, inject_trace_context};
pub use subscriber::init;

pub(crate) use config::{validate, validate_log};
pub(crate) use correlation::record_request_span;
pub(crate) use log_writer::flush as flush_logs;
pub(crate) use otel::extract_parent;

/// Flushes pending spans and stops the exporter, then writes out the queued log lines (later
/// lines are written directly). Called when a service's shutdown completes.
pub(crate) fn shutdown() {
    otel::shutdown();
    log_writer::flush();
}
