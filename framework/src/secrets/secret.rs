//! `Secret`: a value that never prints and is wiped from memory when dropped.

use std::fmt;

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// What a secret prints as, in `Debug`, `Display`, serde output and the configuration report.
pub const REDACTED: &str = "[redacted]";

/// A secret value, text or bytes, that prints as `[redacted]` and is zeroized on drop.
///
/// `Debug`, `Display` and `Serialize` never show the value; reading it takes an explicit
/// [`expose_str`](Secret::expose_str) or [`expose_bytes`](Secret::expose_bytes), which makes every
/// use easy to find in review. Deserializing from a string works, so a service's own settings
/// may hold a `Secret` (and a secret reference resolved into it).
///
/// ```
/// use servicekit::secrets::Secret;
///
/// let key = Secret::from("hunter2");
/// assert_eq!(format!("{key} {key:?}"), "[redacted] Secret([redacted])");
/// assert_eq!(serde_json::to_string(&key).unwrap(), "\"[redacted]\"");
/// assert_eq!(key.expose_str(), Some("hunter2"));
/// ```
#[derive(Clone)]
pub struct Secret(SecretSlice<u8>);

impl Secret {
    /// The value as bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The value as text, or `None` if it is not UTF-8 (a binary secret).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose_bytes()).ok()
    }

    /// A copy as a [`SecretString`] (for APIs that take one), or `None` if it is not UTF-8.
    pub fn to_secret_string(&self) -> Option<SecretString> {
        self.expose_str().map(SecretString::from)
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.expose_bytes().len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for Secret {
    fn from(mut bytes: Vec<u8>) -> Self {
        // `into_boxed_slice` reallocates when capacity exceeds length and frees the old buffer
        // without wiping it; copy instead and wipe the whole original buffer.
        let exact: Box<[u8]> = if bytes.len() == bytes.capacity() {
            bytes.into_boxed_slice()
        } else {
            let copy = Box::from(bytes.as_slice());
            bytes.zeroize();
            copy
        };
        Self(SecretSlice::from(exact))
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self::from(text.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self::from(text.as_bytes().to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::from(String::from("s3cr3t"));
        let shown = format!("{s} {s:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 3);
    }

    #[test]
    fn exposes_text_and_bytes() {
        let text = Secret::from("abc");
        assert_eq!(text.expose_str(), Some("abc"));
        assert_eq!(text.len(), 3);
        let binary = Secret::from(vec![0xff, 0x00]);
        assert_eq!(binary.expose_str(), None);
        assert_eq!(binary.expose_bytes(), &[0xff, 0x00]);
        assert!(binary.to_secret_string().is_none());
        assert!(Secret::from("").is_empty());
    }

    #[test]
    fn spare_capacity_is_copied_exactly() {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(b"value\n");
        bytes.truncate(5);
        assert_eq!(Secret::from(bytes).expose_str(), Some("value"));
    }

    #[test]
    fn deserializes_from_a_string() {
        let s: Secret = serde_json::from_str("\"token\"").unwrap();
        assert_eq!(s.expose_str(), Some("token"));
    }
}
