//! The startup check that configuration does not ask for an optional part this build of
//! servicekit leaves out.
//!
//! Configuration is read at run time, so a setting that needs a missing cargo feature
//! (`database.url = "postgres://.."` without `postgres`) would otherwise be ignored or fail
//! obscurely; instead startup stops with the key and the feature to enable. It spans sections
//! (database, telemetry, rate limit, secrets), so it lives with the aggregate.

use secrecy::ExposeSecret;

use super::model::Config;
use crate::db::DbKind;
use crate::features::{Compiled, missing as needs_feature};
use crate::invalid::InvalidSetting;

/// The first setting in `config` that needs a feature missing from `compiled`, as
/// an invalid setting naming the feature. Secret references (`aws-sm://`) are checked when they are resolved.
pub(crate) fn missing(config: &Config, compiled: Compiled) -> Option<InvalidSetting> {
    if let Some(url) = &config.database.url
        && let Ok(kind) = DbKind::from_url(url.expose_secret())
        && !compiled.has_driver(kind)
    {
        let purpose = format!("a {kind} database.url");
        return Some(InvalidSetting::new(
            "database.url",
            needs_feature(kind.feature(), &purpose),
            enable(kind.feature(), "database.url"),
        ));
    }
    let telemetry = &config.telemetry;
    if !compiled.otlp && telemetry.traces && telemetry.otlp_endpoint.is_some() {
        return Some(InvalidSetting::new(
            "telemetry.otlp_endpoint",
            needs_feature(
                "otlp",
                "exporting traces to an OTLP collector (also set by OTEL_EXPORTER_OTLP_ENDPOINT)",
            ),
            enable(
                "otlp",
                "telemetry.otlp_endpoint and OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
        ));
    }
    if !compiled.rate_limit && config.rate_limit.enabled {
        return Some(InvalidSetting::new(
            "rate_limit.enabled",
            needs_feature(
                "rate-limit",
                "rate limiting (`[rate_limit] enabled = true`)",
            ),
            enable("rate-limit", "rate_limit.enabled"),
        ));
    }
    if compiled.rate_limit
        && !compiled.cache
        && config.rate_limit.store == crate::server::rate_limit::StoreKind::Redis
    {
        return Some(InvalidSetting::new(
            "rate_limit.store",
            needs_feature(
                "cache",
                "rate limits shared in Redis (`rate_limit.store = \"redis\"`)",
            ),
            format!(
                "{}, or set rate_limit.store = \"local\"",
                crate::features::enable("cache")
            ),
        ));
    }
    if !compiled.cache && config.cache.url.is_some() {
        return Some(InvalidSetting::new(
            "cache.url",
            needs_feature("cache", "the shared Redis cache (`cache.url`)"),
            enable("cache", "cache.url"),
        ));
    }
    let aws = &config.secrets.aws;
    if !compiled.aws {
        if aws.region.is_some() {
            return Some(InvalidSetting::new(
                "secrets.aws.region",
                needs_feature("aws", "the AWS Secrets Manager client"),
                enable("aws", "secrets.aws.region"),
            ));
        }
        if aws.endpoint_url.is_some() {
            return Some(InvalidSetting::new(
                "secrets.aws.endpoint_url",
                needs_feature("aws", "the AWS Secrets Manager client"),
                enable("aws", "secrets.aws.endpoint_url"),
            ));
        }
    }
    None
}

/// The fix for a setting that needs `feature`: enable it, or remove `setting`.
fn enable(feature: &str, setting: &str) -> String {
    format!("{}, or remove {setting}", crate::features::enable(feature))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Compiled = Compiled {
        sqlite: false,
        postgres: false,
        mysql: false,
        aws: false,
        otlp: false,
        rate_limit: false,
        cache: false,
    };
    const ALL: Compiled = Compiled {
        sqlite: true,
        postgres: true,
        mysql: true,
        aws: true,
        otlp: true,
        rate_limit: true,
        cache: true,
    };

    fn config(toml: &str) -> Config {
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Serialized::defaults(
            serde_json::json!({"service": {"name": "svc"}}),
        ))
        .merge(figment::providers::Toml::string(toml))
        .extract()
        .unwrap()
    }

    fn check(toml: &str, compiled: Compiled) -> Option<(String, String)> {
        missing(&config(toml), compiled).map(|e| (e.key, format!("{}; {}", e.message, e.fix)))
    }

    #[test]
    fn defaults_need_no_feature() {
        assert_eq!(check("", NONE), None);
    }

    #[test]
    fn database_urls_name_the_driver_feature() {
        for (url, feature) in [
            ("postgres://app@db/students", "postgres"),
            ("postgresql://app@db/students", "postgres"),
            ("mysql://app@db/students", "mysql"),
            ("mariadb://app@db/students", "mysql"),
            ("sqlite://data/x.db", "sqlite"),
        ] {
            let toml = format!("[database]\nurl = \"{url}\"\n");
            let (key, message) = check(&toml, NONE).expect(url);
            assert_eq!(key, "database.url");
            assert!(
                message.contains(&format!("enable servicekit's `{feature}` feature")),
                "{message}"
            );
            assert_eq!(check(&toml, ALL), None, "{url}");
        }
        // Only the backend in use is needed.
        let postgres_only = Compiled {
            postgres: true,
            ..NONE
        };
        assert_eq!(
            check("[database]\nurl = \"postgres://db/x\"\n", postgres_only),
            None
        );
    }

    #[test]
    fn otlp_endpoint_names_the_otlp_feature() {
        let toml = "[telemetry]\notlp_endpoint = \"http://collector:4318\"\n";
        let (key, message) = check(toml, NONE).unwrap();
        assert_eq!(key, "telemetry.otlp_endpoint");
        assert!(
            message.contains("enable servicekit's `otlp` feature"),
            "{message}"
        );
        assert!(message.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{message}");
        assert_eq!(check(toml, ALL), None);
        // Traces switched off: the endpoint is not used, so nothing is missing.
        let off = "[telemetry]\ntraces = false\notlp_endpoint = \"http://collector:4318\"\n";
        assert_eq!(check(off, NONE), None);
    }

    #[test]
    fn enabled_rate_limit_names_the_rate_limit_feature() {
        let (key, message) = check("[rate_limit]\nenabled = true\n", NONE).unwrap();
        assert_eq!(key, "rate_limit.enabled");
        assert!(
            message.contains("enable servicekit's `rate-limit` feature"),
            "{message}"
        );
        assert_eq!(check("[rate_limit]\nenabled = false\n", NONE), None);
        assert_eq!(check("[rate_limit]\nenabled = true\n", ALL), None);
    }

    #[test]
    fn the_redis_rate_limit_store_names_the_cache_feature() {
        let toml = "[rate_limit]\nenabled = true\nstore = \"redis\"\n";
        let rate_limit_only = Compiled {
            rate_limit: true,
            ..NONE
        };
        let (key, message) = check(toml, rate_limit_only).unwrap();
        assert_eq!(key, "rate_limit.store");
        assert!(
            message.contains("enable servicekit's `cache` feature") && message.contains("local"),
            "{message}"
        );
        assert_eq!(check(toml, ALL), None);
        // Without rate-limit at all, that feature is the one named.
        assert_eq!(check(toml, NONE).unwrap().0, "rate_limit.enabled");
    }

    #[test]
    fn cache_url_names_the_cache_feature() {
        let toml = "[cache]\nurl = \"redis://127.0.0.1:6379\"\n";
        let (key, message) = check(toml, NONE).unwrap();
        assert_eq!(key, "cache.url");
        assert!(
            message.contains("enable servicekit's `cache` feature"),
            "{message}"
        );
        assert_eq!(check(toml, ALL), None);
        // The other keys have defaults and need nothing.
        assert_eq!(check("[cache]\ndefault_ttl = \"1m\"\n", NONE), None);
    }

    #[test]
    fn aws_client_settings_name_the_aws_feature() {
        let (key, message) = check("[secrets.aws]\nregion = \"eu-west-1\"\n", NONE).unwrap();
        assert_eq!(key, "secrets.aws.region");
        assert!(
            message.contains("enable servicekit's `aws` feature"),
            "{message}"
        );
        let (key, _) = check(
            "[secrets.aws]\nendpoint_url = \"http://127.0.0.1:5000\"\n",
            NONE,
        )
        .unwrap();
        assert_eq!(key, "secrets.aws.endpoint_url");
        assert_eq!(check("[secrets.aws]\nregion = \"eu-west-1\"\n", ALL), None);
    }
}
