//! [`ShortText`]: the correlation ids of a log line without a heap allocation per request.
//!
//! Request ids (a UUID is 36 bytes), trace ids (32 hex digits) and span ids (16) are copied from
//! span fields into every request span's extensions; kept inline, they cost a copy instead of an
//! allocation. Longer text (a client may send any request id) goes to the heap.

use std::fmt;

/// Bytes kept inline; longer text is allocated.
const INLINE: usize = 48;

/// An immutable string, inline when it has at most 48 bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ShortText {
    /// Text of at most [`INLINE`] bytes.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// Longer text.
    Heap(Box<str>),
}

impl ShortText {
    /// `text`, copied.
    pub(crate) fn new(text: &str) -> Self {
        if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            // Cannot truncate: `text.len() <= INLINE < 256`.
            Self::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(text.into())
        }
    }

    /// The text of `value`'s `Debug` output without surrounding quotes, copied.
    pub(crate) fn from_debug(value: &dyn fmt::Debug) -> Self {
        let mut buffer = Buffer::default();
        if fmt::write(&mut buffer, format_args!("{value:?}")).is_ok() && !buffer.overflow {
            let text = std::str::from_utf8(&buffer.bytes[..buffer.len]).unwrap_or_default();
            return Self::new(text.trim_matches('"'));
        }
        Self::new(format!("{value:?}").trim_matches('"'))
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Always a whole UTF-8 string: `new` copies one.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Heap(text) => text,
        }
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A fixed buffer for formatting; `overflow` is set when the text did not fit.
struct Buffer {
    bytes: [u8; INLINE + 2],
    len: usize,
    overflow: bool,
}

impl Default for Buffer {
    fn default() -> Self {
        Self {
            bytes: [0; INLINE + 2],
            len: 0,
            overflow: false,
        }
    }
}

impl fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            self.overflow = true;
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_text_round_trip() {
        let short = "0190b3a4-7c00-7000-8000-000000000001";
        assert!(matches!(ShortText::new(short), ShortText::Inline { .. }));
        assert_eq!(ShortText::new(short).as_str(), short);
        let long = "x".repeat(INLINE + 1);
        assert!(matches!(ShortText::new(&long), ShortText::Heap(_)));
        assert_eq!(ShortText::new(&long).as_str(), long);
    }

    #[test]
    fn debug_output_loses_its_quotes() {
        assert_eq!(ShortText::from_debug(&"abc").as_str(), "abc");
        assert_eq!(
            ShortText::from_debug(&format_args!("{}", "abc")).as_str(),
            "abc"
        );
        let long = "y".repeat(3 * INLINE);
        assert_eq!(ShortText::from_debug(&long).as_str(), long);
    }
}
