//! Why telemetry could not be set up.

/// The logs or the trace exporter could not be set up; the message names the key to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// `log.level` (or `RUST_LOG`) is not a valid `tracing` filter.
    #[error("log.level: {source}; fix: use a filter such as `info` or `info,my_service=debug`")]
    LogLevel {
        /// The parser's error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP span exporter could not be built for `telemetry.otlp_endpoint`.
    #[cfg(feature = "otlp")]
    #[error(
        "telemetry.otlp_endpoint: cannot build the OTLP exporter for {endpoint}: {source}; \
         fix: check the endpoint URL and telemetry.otlp_protocol"
    )]
    OtlpExporter {
        /// The endpoint.
        endpoint: String,
        /// The exporter's error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// `telemetry.otlp_endpoint` is set in a build without servicekit's `otlp` feature.
    #[cfg(not(feature = "otlp"))]
    #[error("telemetry.otlp_endpoint: {message}")]
    FeatureMissing {
        /// What is missing and how to enable it.
        message: String,
    },
}
