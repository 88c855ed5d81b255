//! Secret references in configuration values, resolved when the configuration loads.
//!
//! Any string value whose scheme has a provider (`env://`, `file://`, `aws-sm://`, or one
//! registered with [`ServiceBuilder::secret_provider`](crate::ServiceBuilder::secret_provider))
//! is replaced by the secret's text before the sections are extracted. The replaced value's
//! origin reads "secret `aws-sm://..` (referenced by file `config/prod.toml`)", so later errors
//! still name where the reference was set; error messages never show the resolved text.

use std::sync::Arc;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Deserialize;

use super::error::{ConfigError, ConfigProblem, origin_of};
use super::loader::{Loaded, Sources};
use super::walk::{in_array, leaves, replace};
use crate::invalid::InvalidSetting;
use crate::secrets::{
    Secret, SecretError, SecretErrorKind, SecretProvider, Secrets, SecretsConfig,
};

/// Loads the configuration, resolving secret references through `providers` (which replace
/// built-in ones of the same scheme) and the built-in providers.
pub(crate) async fn load(
    sources: &Sources,
    service_name: &str,
    providers: &[Arc<dyn SecretProvider>],
) -> Result<(Loaded, Secrets), ConfigError> {
    let figment = sources.figment();
    let mut builder = Secrets::builder(settings(&figment)?);
    for provider in providers {
        builder = builder.provider_arc(Arc::clone(provider));
    }
    let secrets = builder.build();

    let references: Vec<(String, String)> = leaves(&figment)
        .into_iter()
        .filter_map(|(key, value)| match value {
            Value::String(_, text)
                if !key.starts_with("secrets.") && secrets.is_reference(&text) =>
            {
                Some((key, text))
            }
            _ => None,
        })
        .collect();
    let fetched = futures_util::future::join_all(
        references
            .iter()
            .map(|(_, reference)| text_of(&secrets, reference)),
    )
    .await;

    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for ((key, reference), result) in references.into_iter().zip(fetched) {
        match result {
            Ok(value) => resolved.push((key, reference, value)),
            Err(e) => problems.push(ConfigProblem::new(&figment, unresolved(key, &e))),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::from_problems(problems));
    }

    let mut merged = figment.clone();
    for (key, reference, value) in &resolved {
        let name = format!(
            "secret `{reference}` (referenced by {})",
            origin_of(&figment, key)
        );
        let text = Value::from(value.expose_str().unwrap_or_default().to_string());
        // figment merges by key and cannot address an array element: a reference inside an
        // array (`auth.issuers.0.pem`) replaces the whole array, with that element resolved.
        let (key, text) = match in_array(key) {
            Some((array, rest)) => match merged.find_value(array) {
                Ok(mut whole) => {
                    // The key was read from this array, so the element is there.
                    replace(&mut whole, rest, text);
                    (array, whole)
                }
                Err(_) => (key.as_str(), text),
            },
            None => (key.as_str(), text),
        };
        merged = merged.merge(Resolved {
            name,
            key,
            value: text,
        });
    }
    let values: Vec<&str> = resolved
        .iter()
        .filter_map(|(_, _, v)| v.expose_str())
        .collect();
    let mut loaded = Sources::extract(merged, service_name, &sources.environment())
        .map_err(|e| e.redacting(&values))?;
    if let Err(e) = crate::db::configured_url(&loaded.config.database) {
        let setting = InvalidSetting::new(e.key, e.message, e.fix);
        return Err(ConfigError::invalid(&loaded.figment, setting).redacting(&values));
    }
    loaded.secret_refs = resolved
        .into_iter()
        .map(|(key, reference, _)| (key, reference))
        .collect();
    Ok((loaded, secrets))
}

/// The `[secrets]` section, needed before anything is resolved.
fn settings(figment: &Figment) -> Result<SecretsConfig, ConfigError> {
    let settings = match figment.find_value("secrets") {
        Ok(value) => SecretsConfig::deserialize(&value)
            .map_err(|e| ConfigError::from_figment(figment, e, "secrets"))?,
        Err(_) => SecretsConfig::default(),
    };
    crate::secrets::validate(&settings).map_err(|e| ConfigError::invalid(figment, e))?;
    Ok(settings)
}

/// The secret as text: configuration values are strings.
/// The problem for a reference at `key` that could not be resolved: a provider's own fix (the
/// text after `; fix: `) moves to the fix line, so that it is printed once.
fn unresolved(key: String, error: &SecretError) -> InvalidSetting {
    let text = error.to_string();
    match text.rsplit_once("; fix: ") {
        Some((message, fix)) => {
            InvalidSetting::new(key, message, format!("{fix} (docs/secrets.md)"))
        }
        None => InvalidSetting::new(
            key,
            text,
            "check the reference (`aws-sm://name#field`, `file:///path`, `env://NAME`), that the \
             secret exists and that this service may read it (docs/secrets.md)",
        ),
    }
}

async fn text_of(secrets: &Secrets, reference: &str) -> Result<Secret, SecretError> {
    let secret = secrets.get(reference).await?;
    if secret.expose_str().is_none() {
        return Err(SecretError::new(
            SecretErrorKind::InvalidValue,
            reference,
            secrets.provider_name(reference).unwrap_or("secret"),
            "the secret is binary (not UTF-8 text), so it cannot fill a configuration value",
        ));
    }
    Ok(secret)
}

/// One resolved value, as a figment provider whose name says where it came from.
struct Resolved<'a> {
    name: String,
    key: &'a str,
    value: Value,
}

impl Provider for Resolved<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(self.key, self.value.clone());
        Ok(Profile::Default.collect(nested.into_dict().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::secrets::EnvProvider;

    fn sources(toml: &str) -> (tempfile::TempDir, Sources) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.toml"), toml).unwrap();
        let sources = Sources {
            dir: dir.path().to_path_buf(),
            overrides: Vec::new(),
            defaults: Vec::new(),
        };
        (dir, sources)
    }

    fn env(vars: &[(&str, &str)]) -> Vec<Arc<dyn SecretProvider>> {
        vec![Arc::new(EnvProvider::from_vars(vars.iter().copied()))]
    }

    #[tokio::test]
    async fn references_inside_arrays_are_resolved_and_redacted_in_the_report() {
        let (_dir, sources) = sources(concat!(
            "[auth]\nalgorithms = [\"HS256\"]\n",
            "[[auth.issuers]]\nissuer = \"https://a\"\naudiences = [\"x\"]\n",
            "hs_secret = \"env://HS_A\"\n",
            "[[auth.issuers]]\nissuer = \"https://b\"\naudiences = [\"x\"]\n",
            "hs_secret = \"env://HS_B\"\n",
        ));
        let a = "a-shared-secret-of-at-least-32-bytes!";
        let b = "b-shared-secret-of-at-least-32-bytes!";
        let providers = env(&[("HS_A", a), ("HS_B", b)]);
        let (loaded, _) = load(&sources, "svc", &providers).await.unwrap();
        let issuers =
            serde_json::to_value(loaded.figment.find_value("auth.issuers").unwrap()).unwrap();
        assert_eq!(issuers[0]["hs_secret"], a);
        assert_eq!(issuers[1]["hs_secret"], b);
        assert_eq!(
            issuers[1]["issuer"], "https://b",
            "the rest of the array is kept"
        );
        assert_eq!(loaded.secret_refs["auth.issuers.1.hs_secret"], "env://HS_B");
        let report = crate::config::report(&loaded);
        assert!(!report.contains(a) && !report.contains(b), "{report}");
        assert!(
            report.contains("auth.issuers.0.hs_secret=[redacted] (from env://HS_A)"),
            "{report}"
        );
    }

    #[tokio::test]
    async fn inline_secrets_inside_arrays_are_redacted_and_errors_name_the_file() {
        let (dir, sources) = sources(concat!(
            "[[auth.issuers]]\nissuer = \"https://a\"\naudiences = [\"x\"]\n",
            "hs_secret = \"inline-secret-value-that-is-long-enough\"\n",
        ));
        let (loaded, _) = load(&sources, "svc", &[]).await.unwrap();
        let report = crate::config::report(&loaded);
        assert!(!report.contains("inline-secret-value"), "{report}");
        let origin = origin_of(&loaded.figment, "auth.issuers.0.hs_secret");
        assert!(
            origin.contains(&dir.path().join("default.toml").display().to_string()),
            "{origin}"
        );
    }

    #[tokio::test]
    async fn references_become_values_and_are_remembered() {
        let (_dir, sources) = sources(
            "[database]\nurl = \"env://DB_URL\"\n[app]\ntoken = \"env://TOKEN\"\nplain = \"x\"\n",
        );
        let providers = env(&[("DB_URL", "postgres://u:pw@db/x"), ("TOKEN", "t0k")]);
        let (loaded, secrets) = load(&sources, "svc", &providers).await.unwrap();
        let url = loaded.config.database.url.as_ref().unwrap();
        assert_eq!(url.expose_secret(), "postgres://u:pw@db/x");
        assert_eq!(loaded.config.app["token"], "t0k");
        assert_eq!(loaded.secret_refs["database.url"], "env://DB_URL");
        assert_eq!(loaded.secret_refs.len(), 2);
        assert_eq!(secrets.status().len(), 2);
    }

    #[tokio::test]
    async fn missing_secrets_name_key_origin_reference_and_provider() {
        let (dir, sources) = sources("[app]\na = \"env://NOPE\"\nb = \"env://ALSO_NOPE\"\n");
        let err = load(&sources, "svc", &env(&[])).await.unwrap_err();
        assert_eq!(err.problems().len(), 2);
        let p = &err.problems()[0];
        assert_eq!(p.key, "app.a");
        assert!(
            p.origin.contains(&dir.path().display().to_string()),
            "{p:?}"
        );
        assert!(p.message.contains("`env://NOPE`"), "{p:?}");
        assert!(p.message.contains("environment provider"), "{p:?}");
        assert!(p.message.contains("`NOPE` is not set"), "{p:?}");
    }

    #[tokio::test]
    async fn invalid_resolved_values_are_named_without_showing_them() {
        let (_dir, sources) =
            sources("[database]\nurl = \"env://DB_URL\"\n[secrets]\nrefresh_interval = \"1m\"\n");
        let err = load(&sources, "svc", &env(&[("DB_URL", "hunter2")]))
            .await
            .unwrap_err();
        let p = &err.problems()[0];
        assert_eq!(p.key, "database.url");
        assert!(
            p.origin
                .starts_with("secret `env://DB_URL` (referenced by file"),
            "{p:?}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("[redacted]"), "{err}");
    }

    #[tokio::test]
    async fn database_secrets_are_checked_at_load() {
        let (_dir, sources) = sources("[database]\nsecret = \"env://RDS\"\n");
        let rds = r#"{"engine":"oracle","host":"h","username":"u","password":"hunter2"}"#;
        let err = load(&sources, "svc", &env(&[("RDS", rds)]))
            .await
            .unwrap_err();
        assert_eq!(err.problems()[0].key, "database.secret");
        assert!(err.to_string().contains("`oracle`"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn secrets_settings_are_validated_and_not_resolved() {
        let (_dir, sources) = sources("[secrets]\nrefresh_interval = \"0s\"\n");
        let err = load(&sources, "svc", &[]).await.unwrap_err();
        assert_eq!(err.problems()[0].key, "secrets.refresh_interval");

        let (_dir, sources) = self::sources("[secrets.aws]\nendpoint_url = \"file://not-a-ref\"\n");
        let (loaded, _) = load(&sources, "svc", &[]).await.unwrap();
        assert!(loaded.secret_refs.is_empty());
    }
}
