//! Telemetry of the real binaries against real peers: OTLP traces (http/protobuf and gRPC),
//! log correlation, Prometheus metrics checked by the official parser.

mod cross_service;
mod metrics;
mod promtool;
mod propagation;
mod traces;
