//! The `[log]` and `[telemetry]` configuration sections and the rules serde cannot express.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::invalid::{InvalidSetting, absolute_path};

/// `[log]`: log level and output format.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `info,sqlx=warn` (`RUST_LOG` sets it too).
    pub level: String,
    /// `pretty`, `compact` or `json`; `auto` (the default) is `pretty` in the `dev` and `test`
    /// environments and `json` elsewhere.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `pretty` in the `dev` and `test` environments, `json` elsewhere.
    Auto,
    /// Multi-line, coloured, for people.
    Pretty,
    /// One line per event, for people.
    Compact,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// `[telemetry]`: OpenTelemetry trace export and Prometheus metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Export traces when an OTLP endpoint is configured (default `true`).
    pub traces: bool,
    /// OTLP collector endpoint, e.g. `http://otel-collector:4318` for http/protobuf or
    /// `http://otel-collector:4317` for grpc (`OTEL_EXPORTER_OTLP_ENDPOINT` sets it too).
    /// Unset: no trace export.
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` (default) or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL` sets it too).
    pub otlp_protocol: OtlpProtocol,
    /// Fraction of new traces to sample, 0.0 to 1.0, respecting the caller's decision
    /// (parent-based). Unset: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else always.
    pub sample_ratio: Option<f64>,
    /// Static resource attributes added to every span, e.g. `{ "deployment.environment" = "prod" }`
    /// (`OTEL_RESOURCE_ATTRIBUTES` adds more).
    pub resource_attributes: BTreeMap<String, String>,
    /// Serve Prometheus metrics (default `true`).
    pub metrics: bool,
    /// Path of the Prometheus endpoint (default `/metrics`).
    pub metrics_path: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            traces: true,
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::HttpProtobuf,
            sample_ratio: None,
            resource_attributes: BTreeMap::new(),
            metrics: true,
            metrics_path: "/metrics".into(),
        }
    }
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP, usually port 4318.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC, usually port 4317.
    #[serde(rename = "grpc")]
    Grpc,
}

/// Parses the log filter, as [`init`](super::init) will.
pub(crate) fn parse_filter(
    log: &LogConfig,
) -> Result<tracing_subscriber::EnvFilter, tracing_subscriber::filter::ParseError> {
    tracing_subscriber::EnvFilter::builder().parse(&log.level)
}

/// Checks `[log]`: the level is a filter telemetry can install.
pub(crate) fn validate_log(config: &LogConfig) -> Result<(), InvalidSetting> {
    parse_filter(config).map(drop).map_err(|e| {
        InvalidSetting::new(
            "log.level",
            format!("not a valid log filter: {e}"),
            "set it to a level or an EnvFilter directive, e.g. `info` or \
                 `info,sqlx=warn,my_service=debug` (SERVICEKIT__LOG__LEVEL or RUST_LOG)",
        )
    })
}

/// Checks `[telemetry]`: the metrics path, the sample ratio and the OTLP endpoint.
pub(crate) fn validate(config: &TelemetryConfig) -> Result<(), InvalidSetting> {
    absolute_path("telemetry.metrics_path", &config.metrics_path)?;
    if let Some(ratio) = config.sample_ratio
        && !(0.0..=1.0).contains(&ratio)
    {
        return Err(InvalidSetting::new(
            "telemetry.sample_ratio",
            "must be between 0.0 and 1.0",
            "set it to the share of traces to keep, e.g. `0.1` for 10% or `1.0` for all \
             (SERVICEKIT__TELEMETRY__SAMPLE_RATIO or OTEL_TRACES_SAMPLER_ARG)",
        ));
    }
    if let Some(endpoint) = &config.otlp_endpoint
        && !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        return Err(InvalidSetting::new(
            "telemetry.otlp_endpoint",
            "must be an http(s) URL",
            "set it to the collector's OTLP/HTTP address, e.g. `http://otel-collector:4318` \
             (SERVICEKIT__TELEMETRY__OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_rules_name_their_key() {
        assert_eq!(validate_log(&LogConfig::default()), Ok(()));
        assert_eq!(validate(&TelemetryConfig::default()), Ok(()));
        let level = LogConfig {
            level: "info,[".into(),
            ..LogConfig::default()
        };
        assert_eq!(validate_log(&level).unwrap_err().key, "log.level");
        let ratio = TelemetryConfig {
            sample_ratio: Some(1.5),
            ..TelemetryConfig::default()
        };
        assert_eq!(validate(&ratio).unwrap_err().key, "telemetry.sample_ratio");
        let endpoint = TelemetryConfig {
            otlp_endpoint: Some("otel-collector:4318".into()),
            ..TelemetryConfig::default()
        };
        assert_eq!(
            validate(&endpoint).unwrap_err().key,
            "telemetry.otlp_endpoint"
        );
    }
}
