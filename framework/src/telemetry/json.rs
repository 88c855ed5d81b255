//! JSON log lines with a stable field set and the request's correlation ids at the top level.
//!
//! `tracing-subscriber`'s own JSON format nests span fields under `span`/`spans`, so a log
//! pipeline would have to search for the request id; this formatter writes one flat object:
//! `timestamp`, `level`, `target`, `message`, the event's fields, and `request_id`, `trace_id`,
//! `span_id` of the enclosing request when there is one. Keys are in byte order (as a
//! `serde_json` map writes them); the fixed keys win over an event field of the same name, an
//! event field over a span's correlation id, an inner span's id over an outer one's.
//!
//! Every line is written straight into the subscriber's (reused, per-thread) line buffer: the
//! event's field values are encoded once into a reused per-thread buffer, then copied in key
//! order, so formatting a line allocates nothing.

use std::cell::RefCell;
use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::correlation::Correlation;
use super::short_text::ShortText;

/// The JSON event format.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonFormat;

/// Field formatter for [`JsonFormat`]: span fields are never printed (the correlation ids reach
/// the line through [`Correlation`]), so formatting them for every span would be wasted work.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoSpanFields;

impl<'w> FormatFields<'w> for NoSpanFields {
    fn format_fields<R: RecordFields>(&self, _writer: Writer<'w>, _fields: R) -> fmt::Result {
        Ok(())
    }

    fn add_fields(
        &self,
        _current: &'w mut tracing_subscriber::fmt::FormattedFields<Self>,
        _fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        Ok(())
    }
}

/// One event field: its name and where its encoded value sits in [`Scratch::values`].
struct Entry {
    key: &'static str,
    start: usize,
    end: usize,
}

/// The per-thread buffers of [`JsonFormat`], reused from line to line.
#[derive(Default)]
struct Scratch {
    values: String,
    entries: Vec<Entry>,
    /// The line, built here with inlined writes and handed to the subscriber's writer at once.
    line: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => format_line(ctx, writer, event, &mut scratch),
            // An event logged while formatting a field of another one: fresh buffers.
            Err(_) => format_line(ctx, writer, event, &mut Scratch::default()),
        })
    }
}

/// The correlation ids and span name a line takes from its spans.
#[derive(Default)]
struct FromSpans {
    request_id: Option<ShortText>,
    trace_id: Option<ShortText>,
    span_id: Option<ShortText>,
    span: Option<&'static str>,
}

fn format_line<S, N>(
    ctx: &FmtContext<'_, S, N>,
    mut writer: Writer<'_>,
    event: &Event<'_>,
    scratch: &mut Scratch,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    scratch.values.clear();
    scratch.entries.clear();
    scratch.line.clear();
    event.record(&mut Fields(scratch));
    let Scratch {
        values,
        entries,
        line: text,
    } = scratch;
    // Stable: of two fields with one name, the later one is kept (as a map insert does).
    entries.sort_by(|a, b| a.key.cmp(b.key));

    let mut spans = FromSpans::default();
    if let Some(scope) = ctx.event_scope() {
        for span in scope {
            // Innermost first: its name and ids win.
            spans.span.get_or_insert(span.name());
            let extensions = span.extensions();
            if let Some(ids) = extensions.get::<Correlation>() {
                for (slot, value) in [
                    (&mut spans.request_id, &ids.request_id),
                    (&mut spans.trace_id, &ids.trace_id),
                    (&mut spans.span_id, &ids.span_id),
                ] {
                    if slot.is_none() {
                        slot.clone_from(value);
                    }
                }
            }
        }
    }

    let meta = event.metadata();
    let fixed: [(&str, Fixed<'_>); 7] = [
        ("level", Fixed::Level(meta.level())),
        (
            "request_id",
            Fixed::Fallback(spans.request_id.as_ref().map(ShortText::as_str)),
        ),
        ("span", Fixed::Text(spans.span)),
        (
            "span_id",
            Fixed::Fallback(spans.span_id.as_ref().map(ShortText::as_str)),
        ),
        ("target", Fixed::Text(Some(meta.target()))),
        ("timestamp", Fixed::Now),
        (
            "trace_id",
            Fixed::Fallback(spans.trace_id.as_ref().map(ShortText::as_str)),
        ),
    ];
    debug_assert!(fixed.is_sorted_by_key(|(key, _)| *key));

    let mut line = Line {
        writer: text,
        first: true,
    };
    let mut fixed_keys = fixed.iter().peekable();
    let mut i = 0;
    while i < entries.len() {
        let key = entries[i].key;
        // The last of the fields named `key`.
        let mut last = i;
        while last + 1 < entries.len() && entries[last + 1].key == key {
            last += 1;
        }
        while let Some((name, value)) = fixed_keys.next_if(|(name, _)| *name < key) {
            line.fixed(name, value)?;
        }
        match fixed_keys.next_if(|(name, _)| *name == key) {
            Some((name, value)) if value.wins() => line.fixed(name, value)?,
            _ => {
                let entry = &entries[last];
                line.raw(key, &values[entry.start..entry.end])?;
            }
        }
        i = last + 1;
    }
    for (name, value) in fixed_keys {
        line.fixed(name, value)?;
    }
    // Never empty: `level` is always written.
    line.writer.push_str("}\n");
    writer.write_str(line.writer)
}

/// A key the formatter adds to every line.
enum Fixed<'a> {
    Level(&'a tracing::Level),
    Text(Option<&'a str>),
    /// A correlation id: left out when absent, and an event field of the same name wins.
    Fallback(Option<&'a str>),
    Now,
}

impl Fixed<'_> {
    /// Whether this value replaces an event field of the same name: the level, the target, the
    /// time and the span name do, a correlation id does not.
    fn wins(&self) -> bool {
        matches!(self, Self::Level(_) | Self::Now | Self::Text(Some(_)))
    }
}

/// The line being written: `{` before the first key, `,` before the others.
struct Line<'a> {
    writer: &'a mut String,
    first: bool,
}

impl Line<'_> {
    fn key(&mut self, key: &str) -> fmt::Result {
        self.writer.write_char(if self.first { '{' } else { ',' })?;
        self.first = false;
        write_string(self.writer, key)?;
        self.writer.write_char(':')
    }

    fn raw(&mut self, key: &str, json: &str) -> fmt::Result {
        self.key(key)?;
        self.writer.write_str(json)
    }

    fn fixed(&mut self, key: &str, value: &Fixed<'_>) -> fmt::Result {
        match value {
            Fixed::Level(level) => {
                self.key(key)?;
                write_string(self.writer, level.as_str())
            }
            Fixed::Text(Some(text)) | Fixed::Fallback(Some(text)) => {
                self.key(key)?;
                write_string(self.writer, text)
            }
            Fixed::Text(None) | Fixed::Fallback(None) => Ok(()),
            Fixed::Now => {
                self.key(key)?;
                write!(
                    self.writer,
                    "\"{}\"",
                    humantime::format_rfc3339_micros(std::time::SystemTime::now())
                )
            }
        }
    }
}

/// Encodes an event's fields as JSON values into a [`Scratch`].
struct Fields<'a>(&'a mut Scratch);

impl Fields<'_> {
    fn push(&mut self, field: &Field, encode: impl FnOnce(&mut String) -> fmt::Result) {
        let start = self.0.values.len();
        if encode(&mut self.0.values).is_err() {
            self.0.values.truncate(start);
            self.0.values.push_str("null");
        }
        self.0.entries.push(Entry {
            key: field.name(),
            start,
            end: self.0.values.len(),
        });
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, |out| write_f64(out, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, |out| write_string(out, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, |out| write_escaped(out, format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, |out| write_escaped(out, format_args!("{value:?}")));
    }
}

/// A finite float as `serde_json` writes it; `null` for NaN and the infinities.
fn write_f64(out: &mut impl Write, value: f64) -> fmt::Result {
    if !value.is_finite() {
        return out.write_str("null");
    }
    let mut buffer = [0u8; 32];
    let mut cursor = &mut buffer[..];
    serde_json::to_writer(&mut cursor, &value).map_err(|_| fmt::Error)?;
    let len = 32 - cursor.len();
    out.write_str(std::str::from_utf8(&buffer[..len]).map_err(|_| fmt::Error)?)
}

/// `text` as a JSON string.
fn write_string(out: &mut impl Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escape(&mut *out).write_str(text)?;
    out.write_char('"')
}

/// Formatted text as a JSON string, escaped as it is formatted.
fn write_escaped(out: &mut impl Write, args: fmt::Arguments<'_>) -> fmt::Result {
    out.write_char('"')?;
    Escape(&mut *out).write_fmt(args)?;
    out.write_char('"')
}

/// A writer that escapes what passes through it as `serde_json` escapes string contents.
struct Escape<W>(W);

impl<W: Write> Write for Escape<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
            return self.0.write_str(s);
        }
        let mut plain = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escaped)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, text).unwrap();
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "plain",
            "quote \" and \\ backslash",
            "lines\n\r\ttab",
            "controls \u{0} \u{1f} \u{8} \u{c} \u{7f}",
            "unicode é ✓ 𝄞 / slash",
        ] {
            assert_eq!(
                escaped(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    /// The lines `log` writes through the JSON format, with the correlation layer installed.
    fn lines(log: impl FnOnce()) -> Vec<String> {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(super::super::correlation::CorrelationLayer)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonFormat)
                    .fmt_fields(NoSpanFields)
                    .with_writer(move || sink.clone()),
            );
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }

    /// `line` as `serde_json` would write the same object: keys in byte order, same encoding.
    fn canonical(line: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(line).expect(line);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn a_line_is_the_sorted_object_with_fixed_keys_and_correlation_ids() {
        let lines = lines(|| {
            let outer = tracing::info_span!("outer", request_id = "outer-id", trace_id = "t1");
            let _outer = outer.enter();
            let inner = tracing::info_span!("request", request_id = "r-1");
            let _inner = inner.enter();
            tracing::info!(
                latency_ms = 1.5,
                status = 200u64,
                ok = true,
                "request \"finished\""
            );
            tracing::info!(request_id = "own", level = "mine", note = ?Some(3), "fields");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            assert_eq!(*line, canonical(line), "sorted, serde_json's encoding");
        }
        let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["message"], "request \"finished\"");
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["span"], "request", "the innermost span");
        assert_eq!(first["request_id"], "r-1", "the innermost span's id");
        assert_eq!(
            first["trace_id"], "t1",
            "an outer span's id when the inner has none"
        );
        assert_eq!(first["latency_ms"], 1.5);
        assert_eq!(first["status"], 200);
        assert_eq!(first["ok"], true);
        assert!(first.get("span_id").is_none());
        let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(
            second["request_id"], "own",
            "an event's field wins over a span's id"
        );
        assert_eq!(
            second["level"], "INFO",
            "the fixed keys win over an event's field"
        );
        assert_eq!(second["note"], "Some(3)");
    }

    #[test]
    fn outside_spans_an_event_may_name_a_field_span() {
        let lines = lines(|| tracing::warn!(span = "mine", "x"));
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["span"], "mine");
        assert_eq!(line["level"], "WARN");
        assert_eq!(lines[0], canonical(&lines[0]));
    }

    #[test]
    fn floats_are_written_as_serde_json_writes_them() {
        for value in [0.0, 1.5, -2.25e-7, 1e21, 123_456.789, f64::MAX] {
            let mut out = String::new();
            write_f64(&mut out, value).unwrap();
            assert_eq!(out, serde_json::to_string(&value).unwrap());
        }
        let mut out = String::new();
        write_f64(&mut out, f64::NAN).unwrap();
        assert_eq!(out, "null");
    }
}
