//! How values are stored: JSON behind a short format marker.
//!
//! `j1:` + the JSON of a value, or `n1` for "the loader found nothing" (negative caching).
//! Anything else, and a `j1:` value that does not deserialise into the type asked for (the
//! type changed in a deploy), is read as a miss, so the loader runs and overwrites it. A future
//! format gets a new marker, which old versions then read as a miss too.

use serde::Serialize;
use serde::de::DeserializeOwned;

const VALUE: &[u8] = b"j1:";
/// The stored form of "absent".
pub(crate) const ABSENT: &[u8] = b"n1";

/// What a stored entry holds for the type asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stored<T> {
    Value(T),
    Absent,
    /// Another format, or JSON that does not fit `T`.
    Undecodable,
}

/// The stored form of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut entry = VALUE.to_vec();
    serde_json::to_writer(&mut entry, value)?;
    Ok(entry)
}

/// Reads a stored entry as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(entry: &[u8]) -> Stored<T> {
    if entry == ABSENT {
        return Stored::Absent;
    }
    match entry.strip_prefix(VALUE) {
        Some(json) => serde_json::from_slice(json).map_or(Stored::Undecodable, Stored::Value),
        None => Stored::Undecodable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Student {
        name: String,
    }

    #[test]
    fn values_round_trip_and_absent_is_not_a_value() {
        let ada = Student { name: "Ada".into() };
        let entry = encode(&ada).unwrap();
        assert_eq!(entry, b"j1:{\"name\":\"Ada\"}");
        assert_eq!(decode::<Student>(&entry), Stored::Value(ada));
        assert_eq!(decode::<Student>(ABSENT), Stored::Absent);
        // `null` is a value of `Option<T>`, distinct from "absent".
        let none: Option<u32> = None;
        assert_eq!(
            decode::<Option<u32>>(&encode(&none).unwrap()),
            Stored::Value(None)
        );
    }

    #[test]
    fn other_formats_and_other_shapes_are_undecodable() {
        assert_eq!(
            decode::<Student>(b"{\"name\":\"Ada\"}"),
            Stored::Undecodable
        );
        assert_eq!(decode::<Student>(b"j2:{}"), Stored::Undecodable);
        assert_eq!(decode::<Student>(b"j1:{\"id\":7}"), Stored::Undecodable);
        assert_eq!(decode::<u32>(b"j1:not json"), Stored::Undecodable);
    }
}
