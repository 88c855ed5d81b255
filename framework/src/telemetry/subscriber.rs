//! Installing the global `tracing` subscriber.

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use super::TelemetryError;
use super::config::{LogConfig, LogFormat, TelemetryConfig, parse_filter};
use super::correlation::CorrelationLayer;
use super::json::JsonLayer;
use super::log_writer::NonBlockingStdout;
use super::trace_ids::TraceIdsLayer;

type Base = tracing_subscriber::layer::Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Installs the global subscriber (logs, and the OpenTelemetry layer, exporting when an OTLP
/// endpoint is configured) and the W3C propagator.
///
/// `service`, `environment` and `version` are the service's identity (`service.name`,
/// `service.environment`, its version): the environment picks the `auto` log format, the name
/// and version describe the exported spans. Returns `Ok(false)` and changes nothing when a subscriber is already
/// installed, as in a test binary that starts several services; the error names what could not
/// be set up.
pub fn init(
    service: &str,
    environment: &str,
    version: &str,
    log: &LogConfig,
    telemetry: &TelemetryConfig,
) -> Result<bool, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    if tracing::dispatcher::has_been_set() {
        return Ok(false);
    }
    let filter = parse_filter(log).map_err(|source| TelemetryError::LogLevel { source })?;
    let format = match log.format {
        LogFormat::Auto if matches!(environment, "dev" | "test" | "local") => LogFormat::Pretty,
        LogFormat::Auto => LogFormat::Json,
        other => other,
    };
    // Lines go to stdout through the writer thread's queue (see `log_writer`).
    let fmt = tracing_subscriber::fmt::layer().with_writer(NonBlockingStdout);
    let mut layers: Vec<BoxedLayer> = vec![Box::new(CorrelationLayer)];
    layers.push(match format {
        LogFormat::Json => Box::new(JsonLayer::new(NonBlockingStdout)),
        LogFormat::Compact => Box::new(fmt.compact()),
        LogFormat::Pretty | LogFormat::Auto => Box::new(fmt.pretty()),
    });
    // Spans always get ids, exported or not, so `traceparent` is propagated and logs carry
    // `trace_id`.
    let (tracer, exporting) = super::otel::tracer(telemetry, service, version)?;
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false);
    layers.push(if exporting {
        Box::new(otel)
    } else if telemetry.sample_ratio.is_none() && std::env::var_os("OTEL_TRACES_SAMPLER").is_some()
    {
        // The SDK's sampler from `OTEL_TRACES_SAMPLER` decides (`sample_ratio` would override
        // it); only the OpenTelemetry layer asks it.
        // Nothing leaves the process, so the layer keeps only what gives spans their ids (no
        // busy/idle timing, no target attribute, no log events copied into span events, no
        // context made current on every enter).
        Box::new(
            otel.with_tracked_inactivity(false)
                .with_target(false)
                .with_context_activation(false)
                .with_filter(filter_fn(|metadata| metadata.is_span())),
        )
    } else {
        // Nothing leaves the process but the ids: a layer that only assigns them (see
        // `trace_ids` and docs/performance.md). What is exported with an endpoint is unchanged.
        Box::new(TraceIdsLayer::new(telemetry.sample_ratio))
    });
    Ok(tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
        .is_ok())
}
