//! JSON log lines with a stable field set and the request's correlation ids at the top level.
//!
//! `tracing-subscriber`'s own JSON format nests span fields under `span`/`spans`, so a log
//! pipeline would have to search for the request id; this formatter writes one flat object:
//! `timestamp`, `level`, `target`, `message`, the event's fields, and `request_id`, `trace_id`,
//! `span_id` of the enclosing request when there is one. Keys are in byte order (as a
//! `serde_json` map writes them); the fixed keys win over an event field of the same name, an
//! event field over a span's correlation id, an inner span's id over an outer one's.
//!
//! [`JsonLayer`] builds every line in a reused per-thread buffer and hands it to the writer
//! once: the event's field values are encoded once into another reused buffer, then copied in
//! key order, so formatting a line allocates nothing.

use std::cell::RefCell;
use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, Scope};

use super::correlation::Correlation;
use super::short_text::ShortText;

/// The JSON log layer: each event as one line (see the module documentation), written
/// through `W`.
///
/// A layer of its own rather than `tracing_subscriber::fmt::Layer` with a custom event format:
/// the fmt layer formats and stores every span's fields for its own formats (an extension per
/// span, a visit per recorded field), which this line never reads; about 1,100 instructions per
/// request at `info` (docs/performance.md).
#[derive(Debug)]
pub(crate) struct JsonLayer<W> {
    writer: W,
}

impl<W> JsonLayer<W> {
    /// A layer writing its lines to `writer`'s writers, one `write_all` per line.
    pub(crate) fn new(writer: W) -> Self {
        Self { writer }
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |scratch: &mut Scratch| {
            if format_line(ctx.event_scope(event), event, scratch).is_ok() {
                // As the fmt layer does: a failed write loses the line, never the request.
                let mut writer = self.writer.make_writer_for(event.metadata());
                let _ = std::io::Write::write_all(&mut writer, scratch.line.as_bytes());
            }
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => write(&mut scratch),
            // An event logged while formatting a field of another one: fresh buffers.
            Err(_) => write(&mut Scratch::default()),
        });
    }
}

/// One event field: its name and where its encoded value sits in [`Scratch::values`].
struct Entry {
    key: &'static str,
    start: usize,
    end: usize,
}

/// The per-thread buffers of [`JsonLayer`], reused from line to line.
#[derive(Default)]
struct Scratch {
    values: String,
    entries: Vec<Entry>,
    /// The line, built here with inlined writes and handed to the writer at once.
    line: String,
    /// The text of the current second, formatted once per second.
    clock: Clock,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// The correlation ids and span name a line takes from its spans.
#[derive(Default)]
struct FromSpans {
    request_id: Option<ShortText>,
    trace_id: Option<ShortText>,
    span_id: Option<ShortText>,
    span: Option<&'static str>,
}

/// Formats `event` into `scratch.line`, with the correlation ids of the spans in `scope`.
fn format_line<S>(
    scope: Option<Scope<'_, S>>,
    event: &Event<'_>,
    scratch: &mut Scratch,
) -> fmt::Result
where
    S: for<'a> LookupSpan<'a>,
{
    scratch.values.clear();
    scratch.entries.clear();
    scratch.line.clear();
    event.record(&mut Fields(scratch));
    let Scratch {
        values,
        entries,
        line: text,
        clock,
    } = scratch;
    // Stable: of two fields with one name, the later one is kept (as a map insert does).
    entries.sort_by(|a, b| a.key.cmp(b.key));

    let mut spans = FromSpans::default();
    if let Some(scope) = scope {
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
    // Each fixed key with its member's opening as written: quoted, the colon and the value's
    // opening quote (all fixed values are strings), so a member is three writes. The opening is
    // made from the key at compile time.
    macro_rules! member {
        ($key:literal, $value:expr) => {
            ($key, concat!("\"", $key, "\":\""), $value)
        };
    }
    let fixed: [(&str, &str, Fixed<'_>); 7] = [
        member!("level", Fixed::Level(meta.level())),
        member!(
            "request_id",
            Fixed::Fallback(spans.request_id.as_ref().map(ShortText::as_str))
        ),
        member!("span", Fixed::Text(spans.span)),
        member!(
            "span_id",
            Fixed::Fallback(spans.span_id.as_ref().map(ShortText::as_str))
        ),
        member!("target", Fixed::Text(Some(meta.target()))),
        member!("timestamp", Fixed::Time(clock.now())),
        member!(
            "trace_id",
            Fixed::Fallback(spans.trace_id.as_ref().map(ShortText::as_str))
        ),
    ];
    debug_assert!(fixed.is_sorted_by_key(|(key, _, _)| *key));

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
        while let Some((_, opening, value)) = fixed_keys.next_if(|(name, _, _)| *name < key) {
            line.fixed(opening, value)?;
        }
        match fixed_keys.next_if(|(name, _, _)| *name == key) {
            Some((_, opening, value)) if value.wins() => line.fixed(opening, value)?,
            _ => {
                let entry = &entries[last];
                line.raw(key, &values[entry.start..entry.end])?;
            }
        }
        i = last + 1;
    }
    for (_, opening, value) in fixed_keys {
        line.fixed(opening, value)?;
    }
    // Never empty: `level` is always written.
    line.writer.push_str("}\n");
    Ok(())
}

/// A key the formatter adds to every line.
enum Fixed<'a> {
    Level(&'a tracing::Level),
    Text(Option<&'a str>),
    /// A correlation id: left out when absent, and an event field of the same name wins.
    Fallback(Option<&'a str>),
    /// The time of the event, RFC 3339 text.
    Time(&'a str),
}

impl Fixed<'_> {
    /// Whether this value replaces an event field of the same name: the level, the target, the
    /// time and the span name do, a correlation id does not.
    fn wins(&self) -> bool {
        matches!(self, Self::Level(_) | Self::Time(_) | Self::Text(Some(_)))
    }
}

/// The line being written: `{` before the first key, `,` before the others.
struct Line<'a> {
    writer: &'a mut String,
    first: bool,
}

impl Line<'_> {
    /// Starts the member `key`; an event's field names are escaped when they need it.
    fn key(&mut self, key: &str) -> fmt::Result {
        if !needs_escape(key.as_bytes()) {
            self.fixed_key(key);
            return Ok(());
        }
        self.separator();
        write_string(self.writer, key)?;
        self.writer.push(':');
        Ok(())
    }

    /// Starts the member `key`, one of the formatter's own keys (plain ASCII, never escaped).
    fn fixed_key(&mut self, key: &str) {
        self.writer.reserve(key.len() + 4);
        self.separator();
        self.writer.push('"');
        self.writer.push_str(key);
        self.writer.push_str("\":");
    }

    /// `{` before the first member, `,` before the others.
    fn separator(&mut self) {
        self.writer.push(if self.first { '{' } else { ',' });
        self.first = false;
    }

    fn raw(&mut self, key: &str, json: &str) -> fmt::Result {
        self.key(key)?;
        self.writer.push_str(json);
        Ok(())
    }

    /// A fixed member: `opening` is its key as written up to the value's opening quote.
    fn fixed(&mut self, opening: &str, value: &Fixed<'_>) -> fmt::Result {
        let (text, plain) = match value {
            // A level's name and the time never need escaping.
            Fixed::Level(level) => (level.as_str(), true),
            Fixed::Time(text) => (*text, true),
            Fixed::Text(Some(text)) | Fixed::Fallback(Some(text)) => (*text, false),
            Fixed::Text(None) | Fixed::Fallback(None) => return Ok(()),
        };
        self.separator();
        self.writer.push_str(opening);
        if plain {
            self.writer.push_str(text);
        } else {
            Escape(&mut *self.writer).write_str(text)?;
        }
        self.writer.push('"');
        Ok(())
    }
}

/// The current time as RFC 3339 text with microseconds, as
/// `humantime::format_rfc3339_micros` writes it; the date and time of day are formatted once
/// per second and only the microseconds per line.
#[derive(Default)]
struct Clock {
    /// The second `text` holds, in seconds since the Unix epoch; 0 before the first line.
    second: u64,
    /// `2026-12-01T03:56:35.123456Z`: 20 bytes of date and time, 6 digits, `Z`.
    text: [u8; 27],
}

impl Clock {
    fn now(&mut self) -> &str {
        let now = std::time::SystemTime::now();
        let Ok(since_epoch) = now.duration_since(std::time::UNIX_EPOCH) else {
            // Before 1970: not worth a cache.
            self.second = 0;
            return self.full(now);
        };
        if since_epoch.as_secs() != self.second || self.second == 0 {
            self.full(now);
            self.second = since_epoch.as_secs();
        }
        let mut micros = since_epoch.subsec_micros();
        for digit in self.text[20..26].iter_mut().rev() {
            *digit = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// Formats all of `now` into `text`.
    fn full(&mut self, now: std::time::SystemTime) -> &str {
        let mut cursor = &mut self.text[..];
        let written = std::io::Write::write_fmt(
            &mut cursor,
            format_args!("{}", humantime::format_rfc3339_micros(now)),
        );
        if written.is_err() || !cursor.is_empty() {
            self.text = *b"1970-01-01T00:00:00.000000Z";
        }
        std::str::from_utf8(&self.text).unwrap_or_default()
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

/// Whether `bytes` holds a byte that a JSON string must escape: `"`, `\\` or a control
/// character. The fold does not stop at the first hit, so the compiler vectorises it (16 bytes
/// per step) where `any` would test byte by byte; log text almost never needs escaping.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

impl<W: Write> Write for Escape<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if !needs_escape(bytes) {
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
            .with(JsonLayer::new(move || sink.clone()));
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
    fn every_fixed_key_is_written_as_serde_json_writes_it() {
        let lines = lines(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "r \"1\"",
                trace_id = "t1",
                span_id = "s1"
            );
            let _span = span.enter();
            tracing::error!("x");
        });
        assert_eq!(lines[0], canonical(&lines[0]));
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["request_id"], "r \"1\"", "escaped");
        assert_eq!(line["span"], "request");
        assert_eq!(line["span_id"], "s1");
        assert_eq!(line["trace_id"], "t1");
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["timestamp"].as_str().map(str::len), Some(27));
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
    fn the_clock_writes_rfc3339_micros_of_the_current_time() {
        let mut clock = Clock::default();
        for _ in 0..3 {
            let before = std::time::SystemTime::now();
            let text = clock.now().to_string();
            let after = std::time::SystemTime::now();
            assert_eq!(text.len(), 27, "{text}");
            assert!(text.ends_with('Z') && text.as_bytes()[19] == b'.', "{text}");
            let parsed = humantime::parse_rfc3339(&text).expect("RFC 3339");
            let floor = |t: std::time::SystemTime| {
                let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
                std::time::UNIX_EPOCH + std::time::Duration::from_micros(d.as_micros() as u64)
            };
            assert!(floor(before) <= parsed && parsed <= after, "{text}");
            std::thread::sleep(std::time::Duration::from_millis(400));
        }
    }

    #[test]
    fn only_quotes_backslashes_and_controls_need_escaping() {
        for byte in 0u8..=127 {
            let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
            let text = [b'a'; 40].iter().copied().chain([byte]).collect::<Vec<_>>();
            assert_eq!(needs_escape(&text), expected, "byte {byte:#x}");
        }
        assert!(!needs_escape("é ✓ 𝄞".as_bytes()));
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
