//! OpenTelemetry: the tracer provider, W3C propagation, and the ids of a span.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::TelemetryError;
#[cfg(feature = "otlp")]
use super::config::OtlpProtocol;
use super::config::TelemetryConfig;

/// The installed provider, flushed and shut down when the service stops.
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Longest a final flush may take at shutdown.
const FLUSH_TIMEOUT: Duration = crate::server::TRACE_FLUSH_TIMEOUT;

/// Builds the tracer: exporting to the configured OTLP endpoint, or not exporting at all.
///
/// Propagation is not export: even without an endpoint, spans get real trace and span ids
/// (the request's parent from `traceparent`, or new ones), so that `traceparent` goes on to
/// downstream calls and every log line carries `trace_id`. Without an exporter the provider has
/// no span processor and finished spans are dropped. The `bool` says whether spans are exported.
pub(super) fn tracer(
    config: &TelemetryConfig,
    service_name: &str,
    version: &str,
) -> Result<(SdkTracer, bool), TelemetryError> {
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint = config
        .otlp_endpoint
        .as_deref()
        .filter(|_| config.traces && !disabled);
    #[cfg(feature = "otlp")]
    let exporter = endpoint
        .map(|endpoint| exporter(endpoint, config.otlp_protocol))
        .transpose()?;
    // Configuration validation refuses an endpoint without the feature; this catches a
    // configuration built in code.
    #[cfg(not(feature = "otlp"))]
    if endpoint.is_some() {
        return Err(TelemetryError::FeatureMissing {
            message: crate::features::needs("otlp", "exporting traces to an OTLP collector"),
        });
    }
    let mut resource = Resource::builder();
    // OTEL_SERVICE_NAME, read by the SDK's detector, wins over service.name.
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service_name.to_string());
    }
    resource = resource.with_attribute(KeyValue::new("service.version", version.to_string()));
    for (key, value) in &config.resource_attributes {
        resource = resource.with_attribute(KeyValue::new(key.clone(), value.clone()));
    }
    let mut builder = SdkTracerProvider::builder().with_resource(resource.build());
    let exporting = endpoint.is_some();
    #[cfg(feature = "otlp")]
    if let Some(exporter) = exporter {
        builder = builder.with_batch_exporter(exporter);
    }
    if let Some(ratio) = config.sample_ratio {
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))));
    }
    let provider = builder.build();
    let tracer = provider.tracer("servicekit");
    *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = Some(provider);
    Ok((tracer, exporting))
}

/// The OTLP span exporter for `endpoint`, over the configured protocol.
#[cfg(feature = "otlp")]
fn exporter(
    endpoint: &str,
    protocol: OtlpProtocol,
) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let endpoint = endpoint.trim_end_matches('/');
    match protocol {
        OtlpProtocol::HttpProtobuf => {
            let url = if endpoint.ends_with("/v1/traces") {
                endpoint.to_string()
            } else {
                format!("{endpoint}/v1/traces")
            };
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(url)
                .build()
        }
        OtlpProtocol::Grpc => {
            use opentelemetry_otlp::WithExportConfig;
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.to_string())
                .build()
        }
    }
    .map_err(|source| TelemetryError::OtlpExporter {
        endpoint: endpoint.to_string(),
        source,
    })
}

/// Flushes pending spans and stops the exporter.
pub(crate) fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(provider) = provider {
        // The batch processor's thread blocks on export; keep that off the async runtime.
        let _ = std::thread::spawn(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT)).join();
    }
}

/// Sets `span`'s parent from the W3C `traceparent`/`tracestate` headers, if present.
pub(crate) fn extract_parent(span: &Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let moved = {
        let remote = parent.span();
        let remote = remote.span_context();
        if !remote.is_valid() {
            return;
        }
        super::trace_ids::set_remote_parent(span, remote)
    };
    if !moved {
        let _ = span.set_parent(parent);
    }
}

/// The OpenTelemetry context of `span`: from the ids layer when nothing is exported, from the
/// OpenTelemetry layer otherwise.
fn context_of(span: &Span) -> Context {
    match super::trace_ids::span_context(span) {
        Some(ids) => Context::new().with_remote_span_context(ids),
        None => span.context(),
    }
}

/// The W3C trace context of the current span, as `traceparent`/`tracestate` headers.
///
/// Empty when tracing is off. [`inject_trace_context`] adds them to an outgoing request.
pub fn current_trace_context() -> HeaderMap {
    let mut headers = HeaderMap::new();
    inject_trace_context(&mut headers);
    headers
}

/// Adds the current span's `traceparent`/`tracestate` to `headers` (no-op when tracing is off).
pub fn inject_trace_context(headers: &mut HeaderMap) {
    let cx = context_of(&Span::current());
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// The trace and span ids the OpenTelemetry layer gave `span`, when it is part of a valid
/// trace (reading them starts the layer's span); see `trace_ids::ids_of` for the ids layer.
pub(super) fn ids_of(span: &Span) -> Option<(TraceId, SpanId)> {
    let cx: Context = span.context();
    let otel_span = cx.span();
    let sc = otel_span.span_context();
    sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_otlp_endpoint_is_a_typed_error_naming_the_key() {
        let error = exporter("http://exa mple:4318", OtlpProtocol::HttpProtobuf)
            .expect_err("an endpoint with a space is not a URI");

        assert!(
            matches!(&error, TelemetryError::OtlpExporter { endpoint, .. } if endpoint == "http://exa mple:4318"),
            "{error:?}"
        );
        assert!(
            error.to_string().starts_with("telemetry.otlp_endpoint: "),
            "{error}"
        );
    }
}
