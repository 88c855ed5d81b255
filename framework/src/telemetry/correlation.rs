//! Remembers each request span's correlation ids so that every log line inside it carries them.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Span, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The ids of the request a span belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Correlation {
    pub(crate) request_id: Option<String>,
    pub(crate) trace_id: Option<String>,
    pub(crate) span_id: Option<String>,
}

impl Correlation {
    fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.trace_id.is_none() && self.span_id.is_none()
    }
}

impl Visit for Correlation {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "request_id" => &mut self.request_id,
            "trace_id" => &mut self.trace_id,
            "span_id" => &mut self.span_id,
            _ => return,
        };
        if !value.is_empty() {
            *slot = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "request_id" | "trace_id" | "span_id") {
            self.record_str(field, format!("{value:?}").trim_matches('"'));
        }
    }
}

/// Layer that stores a [`Correlation`] in the extensions of spans that declare the ids.
#[derive(Debug, Default)]
pub(crate) struct CorrelationLayer;

impl<S> Layer<S> for CorrelationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut ids = Correlation::default();
        attrs.record(&mut ids);
        if !ids.is_empty()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<Correlation>() {
            Some(ids) => values.record(ids),
            None => {
                let mut ids = Correlation::default();
                values.record(&mut ids);
                if !ids.is_empty() {
                    extensions.insert(ids);
                }
            }
        }
    }
}

/// Records the trace and span ids of the request span, once its trace parent is set.
pub(crate) fn record_request_span(span: &Span) {
    if let Some((trace_id, span_id)) = super::otel::ids_of(span) {
        span.record("trace_id", trace_id.as_str());
        span.record("span_id", span_id.as_str());
    }
}
