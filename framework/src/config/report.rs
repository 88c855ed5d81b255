//! The effective configuration, as logged at startup: every value some source set, with
//! secrets shown as `[redacted]` and the reference they came from.

use figment::value::Value;

use super::loader::Loaded;
use super::walk::leaves;
use crate::db::redact_url;
use crate::secrets::REDACTED;

/// Words in a key's last segment that mark a value as sensitive even when it is not a
/// secret reference (a password written inline, say).
const SENSITIVE: &[&str] = &["password", "secret", "token", "credential", "key"];

/// `key=value` pairs, comma-separated; keys not listed have their defaults.
pub(crate) fn report(loaded: &Loaded) -> String {
    let entries: Vec<String> = leaves(&loaded.figment)
        .into_iter()
        .map(|(key, value)| {
            let shown = match loaded.secret_refs.get(&key) {
                Some(reference) => format!("{REDACTED} (from {reference})"),
                None => shown(&key, &value),
            };
            format!("{key}={shown}")
        })
        .collect();
    if entries.is_empty() {
        "(all defaults)".to_string()
    } else {
        entries.join(", ")
    }
}

fn shown(key: &str, value: &Value) -> String {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    if key == "database.url" || key == "events.url" || key == "cache.url" {
        return value
            .as_str()
            .map(redact_url)
            .unwrap_or_else(|| REDACTED.into());
    }
    if SENSITIVE.iter().any(|word| last.contains(word)) {
        return REDACTED.to_string();
    }
    match value {
        Value::String(_, text) => text.clone(),
        other => serde_json::to_string(other).unwrap_or_else(|_| "?".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;

    #[test]
    fn secrets_and_sensitive_keys_are_redacted() {
        let figment = Figment::from(Toml::string(
            "[server]\nport = 9000\n[database]\nurl = \"postgres://u:inline-pw@db/x\"\n\
             [app]\napi_key = \"k-123\"\ntoken = \"resolved-value\"\nname = \"demo\"\n",
        ));
        let mut loaded = crate::config::Sources::extract(figment, "svc", "dev").unwrap();
        loaded.secret_refs = BTreeMap::from([("app.token".into(), "aws-sm://prod/t".into())]);
        let text = report(&loaded);
        assert!(text.contains("server.port=9000"), "{text}");
        assert!(text.contains("app.name=demo"), "{text}");
        assert!(
            text.contains("app.token=[redacted] (from aws-sm://prod/t)"),
            "{text}"
        );
        assert!(text.contains("app.api_key=[redacted]"), "{text}");
        assert!(
            text.contains("database.url=postgres://u:[redacted]@db/x"),
            "{text}"
        );
        for value in ["inline-pw", "k-123", "resolved-value"] {
            assert!(!text.contains(value), "{text}");
        }
    }

    #[test]
    fn cache_credentials_are_redacted() {
        let figment = Figment::from(Toml::string(
            "[cache]\nurl = \"rediss://app:url-pw@cache:6379\"\nusername = \"app\"\n\
             password = \"auth-token-1\"\n",
        ));
        let mut loaded = crate::config::Sources::extract(figment, "svc", "dev").unwrap();
        loaded.secret_refs = BTreeMap::from([(
            "cache.password".into(),
            "aws-sm://prod/cache#password".into(),
        )]);
        let text = report(&loaded);
        assert!(
            text.contains("cache.url=rediss://app:[redacted]@cache:6379"),
            "{text}"
        );
        assert!(
            text.contains("cache.password=[redacted] (from aws-sm://prod/cache#password)"),
            "{text}"
        );
        for value in ["url-pw", "auth-token-1"] {
            assert!(!text.contains(value), "{text}");
        }
    }
}
