//! [`ShortText`]: the correlation ids of a log line without a heap allocation per request.
//!
//! Request ids (a UUID is 36 bytes), trace ids (32 hex digits) and span ids (16) are copied from
//! span fields into every request span's extensions; kept inline, they cost a copy instead of an
//! allocation. Longer text (a client may send any request id) goes to the heap. The inline text
//! is an [`ArrayString`], whose `as_str` needs no UTF-8 check when a line is written.

use std::fmt;

use arrayvec::ArrayString;

/// Bytes kept inline; longer text is allocated.
const INLINE: usize = 48;

/// An immutable string, inline when it has at most 48 bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ShortText {
    /// Text of at most [`INLINE`] bytes.
    Inline(ArrayString<INLINE>),
    /// Longer text.
    Heap(Box<str>),
}

impl ShortText {
    /// `text`, copied.
    pub(crate) fn new(text: &str) -> Self {
        match ArrayString::from(text) {
            Ok(inline) => Self::Inline(inline),
            Err(_) => Self::Heap(text.into()),
        }
    }

    /// The text of `value`'s `Debug` output without surrounding quotes, copied.
    pub(crate) fn from_debug(value: &dyn fmt::Debug) -> Self {
        // Two more bytes than inline text, for the quotes `Debug` puts around a string.
        let mut buffer = ArrayString::<{ INLINE + 2 }>::new();
        if fmt::write(&mut buffer, format_args!("{value:?}")).is_ok() {
            return Self::new(buffer.trim_matches('"'));
        }
        Self::new(format!("{value:?}").trim_matches('"'))
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Inline(text) => text,
            Self::Heap(text) => text,
        }
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_text_round_trip() {
        let short = "0190b3a4-7c00-7000-8000-000000000001";
        assert!(matches!(ShortText::new(short), ShortText::Inline(_)));
        assert_eq!(ShortText::new(short).as_str(), short);
        let exactly = "z".repeat(INLINE);
        assert!(matches!(ShortText::new(&exactly), ShortText::Inline(_)));
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
