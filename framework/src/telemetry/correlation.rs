//! Remembers each request span's correlation ids so that every log line inside it carries them.

use tracing::field::{Field, Value, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Span, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::short_text::ShortText;

/// The ids of the request a span belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Correlation {
    pub(crate) request_id: Option<ShortText>,
    pub(crate) trace_id: Option<ShortText>,
    pub(crate) span_id: Option<ShortText>,
}

impl Correlation {
    fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.trace_id.is_none() && self.span_id.is_none()
    }
}

impl Correlation {
    fn slot(&mut self, field: &Field) -> Option<&mut Option<ShortText>> {
        match field.name() {
            "request_id" => Some(&mut self.request_id),
            "trace_id" => Some(&mut self.trace_id),
            "span_id" => Some(&mut self.span_id),
            _ => None,
        }
    }
}

impl Visit for Correlation {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.slot(field)
            && !value.is_empty()
        {
            *slot = Some(ShortText::new(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if let Some(slot) = self.slot(field) {
            let text = ShortText::from_debug(value);
            if !text.as_str().is_empty() {
                *slot = Some(text);
            }
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

/// Records the request span's name (`otel.name`) and, once its trace parent is set, its trace
/// and span ids. With the ids layer that is one `record_all`, so each layer visits the span once
/// instead of three times; the OpenTelemetry layer starts its span when the ids are read and
/// takes a name only before that, so there the name is recorded first.
pub(crate) fn record_request_span(span: &Span, name: &dyn Value) {
    let Some(fields) = span.metadata().map(|meta| meta.fields()) else {
        return;
    };
    let (Some(name_field), Some(trace_field), Some(span_field)) = (
        fields.field("otel.name"),
        fields.field("trace_id"),
        fields.field("span_id"),
    ) else {
        span.record("otel.name", name);
        return;
    };
    let (name, ids) = match super::trace_ids::ids_of(span) {
        Some(ids) => (Some(name), Some(ids)),
        None => {
            span.record_all(&fields.value_set(&[(&name_field, Some(name))]));
            (None, super::otel::ids_of(span))
        }
    };
    // Hex text formatted on the stack: 32 and 16 digits.
    let (mut trace, mut id) = ([0u8; 32], [0u8; 16]);
    let (trace, id) = match ids {
        Some((trace_id, span_id)) => (
            Some(hex(&trace_id.to_bytes(), &mut trace)),
            Some(hex(&span_id.to_bytes(), &mut id)),
        ),
        None => (None, None),
    };
    if name.is_some() || trace.is_some() {
        span.record_all(&fields.value_set(&[
            (&name_field, name),
            (&trace_field, trace.as_ref().map(|t| t as &dyn Value)),
            (&span_field, id.as_ref().map(|s| s as &dyn Value)),
        ]));
    }
}

/// `bytes` as lowercase hex in `out`, which holds exactly two digits per byte.
fn hex<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    std::str::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        let mut out = [0u8; 4];
        assert_eq!(hex(&[0x0a, 0xbf], &mut out), "0abf");
    }
}
