//! JSON log lines with a stable field set and the request's correlation ids at the top level.
//!
//! `tracing-subscriber`'s own JSON format nests span fields under `span`/`spans`, so a log
//! pipeline would have to search for the request id; this formatter writes one flat object:
//! `timestamp`, `level`, `target`, `message`, the event's fields, and `request_id`, `trace_id`,
//! `span_id` of the enclosing request when there is one.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::correlation::Correlation;

/// The JSON event format.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // The event's own fields first, so the fixed keys below win over a field of the same
        // name.
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = fields.0;
        line.insert(
            "timestamp".into(),
            Value::String(
                humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
            ),
        );
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_string()));
        if let Some(scope) = ctx.event_scope() {
            let mut names = Vec::new();
            for span in scope {
                names.push(span.name());
                let extensions = span.extensions();
                if let Some(ids) = extensions.get::<Correlation>() {
                    for (key, value) in [
                        ("request_id", &ids.request_id),
                        ("trace_id", &ids.trace_id),
                        ("span_id", &ids.span_id),
                    ] {
                        if let Some(value) = value {
                            line.entry(key)
                                .or_insert_with(|| Value::String(value.clone()));
                        }
                    }
                }
            }
            if let Some(innermost) = names.first() {
                line.insert("span".into(), Value::String((*innermost).to_string()));
            }
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Collects an event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}
