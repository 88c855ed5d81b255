//! `#key`: one field of a JSON secret, and wiping parsed JSON after use.

use serde_json::Value;
use zeroize::Zeroize;

use super::{Secret, SecretError, SecretErrorKind, SecretRef};

/// Parses `bytes` as a JSON object. The error says what is wrong without showing the text.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, &'static str> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(mut other) => {
            wipe(&mut other);
            Err("is JSON but not an object")
        }
        Err(_) => Err("is not JSON"),
    }
}

/// The field `key` of the JSON object in `secret`, as a new secret (strings as they are,
/// numbers and booleans as their JSON text).
pub(crate) fn select(
    secret: &Secret,
    key: &str,
    reference: &SecretRef,
    provider: &str,
) -> Result<Secret, SecretError> {
    let fail = |kind, message: String| SecretError::new(kind, reference, provider, message);
    let mut map = parse_object(secret.expose_bytes()).map_err(|why| {
        fail(
            SecretErrorKind::InvalidValue,
            format!("the secret {why}, so `#{key}` cannot select a field of it"),
        )
    })?;
    let result = match map.remove(key) {
        Some(Value::String(text)) => Ok(Secret::from(text)),
        Some(mut scalar @ (Value::Number(_) | Value::Bool(_))) => {
            let text = scalar.to_string();
            wipe(&mut scalar);
            Ok(Secret::from(text))
        }
        Some(mut other) => {
            wipe(&mut other);
            Err(fail(
                SecretErrorKind::InvalidValue,
                format!("the field `{key}` is not a string, number or boolean"),
            ))
        }
        None => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            Err(fail(
                SecretErrorKind::NotFound,
                format!(
                    "the JSON secret has no field `{key}` (its fields: {})",
                    keys.join(", ")
                ),
            ))
        }
    };
    wipe_map(&mut map);
    result
}

/// Overwrites every string in `value` (keys are names, not secrets, and are left alone).
pub(crate) fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => wipe_map(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// [`wipe`] for every value of an object.
pub(crate) fn wipe_map(map: &mut serde_json::Map<String, Value>) {
    map.values_mut().for_each(wipe);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(json: &str, key: &str) -> Result<Secret, SecretError> {
        let reference = SecretRef::parse(&format!("aws-sm://db#{key}")).unwrap();
        select(&Secret::from(json), key, &reference, "test")
    }

    #[test]
    fn selects_strings_numbers_and_booleans() {
        let json = r#"{"password":"pw","port":5432,"tls":true}"#;
        assert_eq!(pick(json, "password").unwrap().expose_str(), Some("pw"));
        assert_eq!(pick(json, "port").unwrap().expose_str(), Some("5432"));
        assert_eq!(pick(json, "tls").unwrap().expose_str(), Some("true"));
    }

    #[test]
    fn a_missing_key_lists_the_fields_not_the_values() {
        let err = pick(r#"{"username":"app","password":"pw-value"}"#, "pass").unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::NotFound);
        assert!(err.message().contains("password, username"), "{err}");
        assert!(!err.to_string().contains("pw-value"), "{err}");
    }

    #[test]
    fn non_json_and_non_objects_are_invalid_without_showing_text() {
        for text in ["plain-password", "[\"a\"]"] {
            let err = pick(text, "password").unwrap_err();
            assert_eq!(err.kind(), SecretErrorKind::InvalidValue);
            assert!(!err.to_string().contains(text), "{err}");
        }
        assert!(pick(r#"{"nested":{"a":1}}"#, "nested").is_err());
    }

    #[test]
    fn wipe_clears_nested_strings() {
        let mut v: Value = serde_json::from_str(r#"{"a":["x",{"b":"y"}]}"#).unwrap();
        wipe(&mut v);
        assert_eq!(v, serde_json::json!({"a":["",{"b":""}]}));
    }
}
