//! Every configuration rule names its own fix: a broken value of each kind, checked against
//! the general fix that only serde's type errors print.

use super::ConfigError;
use super::model::Config;
use crate::features::Compiled;
use crate::invalid::{GENERAL_FIX, InvalidSetting};

/// `toml` over a valid minimum (`service.name`).
fn config(toml: &str) -> Config {
    use figment::providers::Format;
    figment::Figment::from(figment::providers::Serialized::defaults(
        serde_json::json!({"service": {"name": "svc"}}),
    ))
    .merge(figment::providers::Toml::string(toml))
    .extract()
    .unwrap_or_else(|e| panic!("{toml}: {e}"))
}

/// An issuer table that passes, followed by `extra` lines.
fn issuer(extra: &str) -> String {
    format!("[[auth.issuers]]\nissuer = \"https://a\"\naudiences = [\"x\"]\n{extra}")
}

/// One TOML snippet per rule, each breaking it (and only rules of the same key).
fn broken() -> Vec<(String, &'static str)> {
    let client = |toml: &str| format!("[clients.x]\nbase_url = \"http://x\"\n{toml}");
    let mut cases: Vec<(String, &'static str)> = vec![
        ("[server]\nbody_limit = 0".into(), "server.body_limit"),
        (
            "[server]\nrequest_timeout = \"0s\"".into(),
            "server.request_timeout",
        ),
        (
            "[server]\nheader_read_timeout = \"0s\"".into(),
            "server.header_read_timeout",
        ),
        (
            "[server]\nidle_timeout = \"0s\"".into(),
            "server.idle_timeout",
        ),
        (
            "[server]\ndeadline_trusted_networks = [\"lan\"]".into(),
            "server.deadline_trusted_networks[0]",
        ),
        (
            "[database]\nmax_connections = 0".into(),
            "database.max_connections",
        ),
        (
            "[database]\nmin_connections = 5\nmax_connections = 2".into(),
            "database.min_connections",
        ),
        ("[database]\nurl = \"ftp://db/x\"".into(), "database.url"),
        ("[health]\nlive_path = \"live\"".into(), "health.live_path"),
        (
            "[health]\nready_path = \"ready\"".into(),
            "health.ready_path",
        ),
        (
            "[health]\nstartup_path = \"startup\"".into(),
            "health.startup_path",
        ),
        (
            "[health]\nready_path = \"/metrics\"".into(),
            "telemetry.metrics_path",
        ),
        ("[log]\nlevel = \"info,[\"".into(), "log.level"),
        (
            "[telemetry]\nmetrics_path = \"metrics\"".into(),
            "telemetry.metrics_path",
        ),
        (
            "[telemetry]\nsample_ratio = 2.0".into(),
            "telemetry.sample_ratio",
        ),
        (
            "[telemetry]\notlp_endpoint = \"collector\"".into(),
            "telemetry.otlp_endpoint",
        ),
        ("[openapi]\npath = \"openapi.json\"".into(), "openapi.path"),
        ("[service]\nname = \".svc\"".into(), "service.name"),
        ("[auth]\nenabled = true".into(), "auth.enabled"),
        (issuer("[auth]\nalgorithms = []"), "auth.algorithms"),
        (issuer("[auth]\njwks_refresh = \"0s\""), "auth.jwks_refresh"),
        (
            issuer("[auth]\nmax_token_bytes = 1"),
            "auth.max_token_bytes",
        ),
        (issuer("[auth]\nleeway = \"2h\""), "auth.leeway"),
        (issuer("[auth.scopes]\nread = \" \""), "auth.scopes.read"),
        (issuer("[auth.roles]\nadmin = \"\""), "auth.roles.admin"),
        (
            "[[auth.issuers]]\nissuer = \"\"\naudiences = [\"x\"]\ndiscovery = true".into(),
            "auth.issuers.0.issuer",
        ),
        (
            format!("{0}discovery = true\n{0}discovery = true", issuer("")),
            "auth.issuers.1.issuer",
        ),
        (
            "[[auth.issuers]]\nissuer = \"https://a\"\naudiences = [\"\"]\ndiscovery = true".into(),
            "auth.issuers.0.audiences",
        ),
        (issuer(""), "auth.issuers.0"),
        (
            issuer("jwks_url = \"ftp://a/keys\""),
            "auth.issuers.0.jwks_url",
        ),
        (
            issuer("jwks_url = \"not a url\""),
            "auth.issuers.0.jwks_url",
        ),
        (
            issuer("discovery = true\nscope_claims = [\"\"]"),
            "auth.issuers.0.scope_claims",
        ),
        (
            issuer("discovery = true\nrole_claims = [\"\"]"),
            "auth.issuers.0.role_claims",
        ),
        (
            "[auth.clients.billing]\nclient_id = \"\"\ntoken_url = \"https://a/t\"".into(),
            "auth.clients.billing.client_id",
        ),
        (
            "[auth.clients.billing]\nclient_id = \"svc\"".into(),
            "auth.clients.billing",
        ),
        (
            "[rate_limit]\nper_second = 0.0".into(),
            "rate_limit.per_second",
        ),
        ("[rate_limit]\nburst = 0".into(), "rate_limit.burst"),
        (
            "[rate_limit]\napi_key_header = \"x key\"".into(),
            "rate_limit.api_key_header",
        ),
        (
            "[rate_limit]\ntrusted_proxies = [\"lb\"]".into(),
            "rate_limit.trusted_proxies[0]",
        ),
        (
            "[rate_limit.routes.\"/students\"]\nper_second = 1.0\nburst = 1".into(),
            "rate_limit.routes./students",
        ),
        ("[rate_limit]\nprefix = \"a b\"".into(), "rate_limit.prefix"),
        (
            "[rate_limit]\nstore_timeout = \"0s\"".into(),
            "rate_limit.store_timeout",
        ),
        ("[rate_limit]\nstore = \"redis\"".into(), "rate_limit.store"),
        (
            "[rate_limit]\nstore = \"redis\"\nper_second = 2e6".into(),
            "rate_limit.per_second",
        ),
        (
            "[clients.x]\nretry.max_attempts = 1".into(),
            "clients.x.base_url",
        ),
        (
            client("instances = [\"http://y\"]\ndiscovery = \"dns\""),
            "clients.x.discovery",
        ),
        (
            "[clients.x]\nbase_url = \"ftp://x\"".into(),
            "clients.x.base_url",
        ),
        (
            "[clients.x]\ninstances = [\"y\"]".into(),
            "clients.x.instances",
        ),
        (client("dns_refresh = \"0s\""), "clients.x.dns_refresh"),
        (
            client("connect_timeout = \"0s\""),
            "clients.x.connect_timeout",
        ),
        (
            client("attempt_timeout = \"0s\""),
            "clients.x.attempt_timeout",
        ),
        (client("deadline = \"0s\""), "clients.x.deadline"),
        (
            client("max_response_bytes = 0"),
            "clients.x.max_response_bytes",
        ),
        (
            client("retry.max_attempts = 0"),
            "clients.x.retry.max_attempts",
        ),
        (
            client("retry.base_backoff = \"5s\"\nretry.max_backoff = \"1s\""),
            "clients.x.retry.base_backoff",
        ),
        (
            client("retry.budget_percent = 2000.0"),
            "clients.x.retry.budget_percent",
        ),
        (
            client("retry.budget_ttl = \"2m\""),
            "clients.x.retry.budget_ttl",
        ),
        (
            client("breaker.failure_rate = 0.0"),
            "clients.x.breaker.failure_rate",
        ),
        (
            client("breaker.min_calls = 0"),
            "clients.x.breaker.min_calls",
        ),
        (
            client("breaker.half_open_probes = 0"),
            "clients.x.breaker.half_open_probes",
        ),
        (
            client("bulkhead.max_concurrent = 0"),
            "clients.x.bulkhead.max_concurrent",
        ),
        (
            client("tls.cert_file = \"/run/tls/client.crt\""),
            "clients.x.tls.key_file",
        ),
        (
            client("tls.key_file = \"/run/tls/client.key\""),
            "clients.x.tls.cert_file",
        ),
        ("[cache]\nurl = \"http://x\"".into(), "cache.url"),
        ("[cache]\nurl = \"redis://\"".into(), "cache.url"),
        ("[cache]\npassword = \"pw\"".into(), "cache.password"),
        ("[cache]\nusername = \"u\"".into(), "cache.username"),
        ("[cache]\nca_file = \"/ca.pem\"".into(), "cache.ca_file"),
        (
            "[cache]\nurl = \"redis://x\"\nca_file = \"/ca.pem\"".into(),
            "cache.ca_file",
        ),
        ("[cache]\nprefix = \"\"".into(), "cache.prefix"),
        ("[cache]\ndefault_ttl = \"0s\"".into(), "cache.default_ttl"),
        (
            "[cache]\nnegative_ttl = \"0s\"".into(),
            "cache.negative_ttl",
        ),
        ("[cache]\ntimeout = \"0s\"".into(), "cache.timeout"),
        (
            "[cache]\nconnect_timeout = \"0s\"".into(),
            "cache.connect_timeout",
        ),
        (
            "[cache]\nbreaker_failures = 0".into(),
            "cache.breaker_failures",
        ),
        (
            "[cache]\nbreaker_cooldown = \"0s\"".into(),
            "cache.breaker_cooldown",
        ),
        ("[events]\nurl = \"ftp://x\"".into(), "events.url"),
        ("[events]\nprefix = \"a.b\"".into(), "events.prefix"),
        ("[events]\ntimeout = \"0s\"".into(), "events.timeout"),
        (
            "[events.outbox]\npoll_interval = \"0s\"".into(),
            "events.outbox.poll_interval",
        ),
        (
            "[events.outbox]\nbatch_size = 0".into(),
            "events.outbox.batch_size",
        ),
        (
            "[events.outbox]\nbackoff_min = \"0s\"".into(),
            "events.outbox.backoff_min",
        ),
        (
            "[events.outbox]\nbackoff_min = \"5s\"\nbackoff_max = \"1s\"".into(),
            "events.outbox.backoff_max",
        ),
        (
            "[events.consumer]\nmax_attempts = 0".into(),
            "events.consumer.max_attempts",
        ),
        (
            "[events.consumer]\nbackoff_min = \"0s\"".into(),
            "events.consumer.backoff_min",
        ),
        (
            "[events.consumer]\nbackoff_min = \"5s\"\nbackoff_max = \"1s\"".into(),
            "events.consumer.backoff_max",
        ),
        (
            "[events.consumer]\nprefetch = 0".into(),
            "events.consumer.prefetch",
        ),
        (
            "[events.consumer]\nack_wait = \"0s\"".into(),
            "events.consumer.ack_wait",
        ),
        (
            "[events.consumer]\nconcurrency = 0".into(),
            "events.consumer.concurrency",
        ),
        (
            "[events.aws]\nendpoint_url = \"not a url\"".into(),
            "events.aws.endpoint_url",
        ),
    ];
    cases.push(("[service]\nenvironment = \"prod\"".into(), "auth.issuers"));
    if cfg!(feature = "tls") {
        cases.extend([
            (
                "[server.tls]\nkey_file = \"/run/tls/tls.key\"".into(),
                "server.tls.cert_file",
            ),
            (
                "[server.tls]\ncert_file = \"/run/tls/tls.crt\"".into(),
                "server.tls.key_file",
            ),
            (
                "[server.tls]\ncert_file = \"/nonexistent/tls.crt\"\nkey_file = \"/nonexistent/tls.key\"".into(),
                "server.tls.cert_file",
            ),
            (
                "[server.tls]\ncert_file = \"a\"\nkey_file = \"b\"\nreload_interval = \"0s\"".into(),
                "server.tls.reload_interval",
            ),
        ]);
    } else {
        cases.push((
            "[server.tls]\ncert_file = \"a\"\nkey_file = \"b\"".into(),
            "server.tls",
        ));
    }
    cases
}

/// The problems `toml` yields: the loader's rules, plus `[secrets]` and the database
/// credentials, which are checked when references are resolved.
fn problems(toml: &str) -> Vec<InvalidSetting> {
    let config = config(toml);
    let mut found = super::loader::invalid_settings(&config);
    found.extend(crate::secrets::validate(&config.secrets).err());
    found.extend(
        crate::db::configured_url(&config.database)
            .err()
            .map(|e| InvalidSetting::new(e.key, e.message, e.fix)),
    );
    found
}

fn assert_specific(setting: &InvalidSetting, case: &str) {
    assert_ne!(setting.fix, GENERAL_FIX, "{case}: {setting}");
    assert!(setting.fix.len() > 20, "{case}: {setting}");
    assert!(!setting.message.contains("fix:"), "{case}: {setting}");
}

#[test]
fn no_rule_prints_the_general_fix() {
    for (toml, key) in broken() {
        let found = problems(&toml);
        let setting = found
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("{toml}: no problem at {key}, found {found:?}"));
        for setting in std::iter::once(setting).chain(&found) {
            assert_specific(setting, &toml);
        }
    }
}

#[test]
fn secrets_and_database_credentials_name_their_fix() {
    for (toml, key) in [
        (
            "[secrets]\nrefresh_interval = \"0s\"",
            "secrets.refresh_interval",
        ),
        ("[secrets]\nfetch_timeout = \"0s\"", "secrets.fetch_timeout"),
        (
            "[secrets]\nrefresh_interval = \"1h\"\nmax_staleness = \"1m\"",
            "secrets.max_staleness",
        ),
        (
            "[database]\nsecret = \"{}\"\nurl = \"postgres://db/x\"",
            "database.secret",
        ),
        (
            "[database]\nsecret = \"{}\"\npassword = \"p\"",
            "database.password",
        ),
        ("[database]\npassword = \"p\"", "database.password"),
        (
            "[database]\nurl = \"sqlite://x.db\"\npassword = \"p\"",
            "database.password",
        ),
        ("[database]\nsecret = \"not json\"", "database.secret"),
        ("[database]\nsecret = \"{}\"", "database.secret"),
    ] {
        let found = problems(toml);
        let setting = found
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("{toml}: no problem at {key}, found {found:?}"));
        assert_specific(setting, toml);
    }
}

#[test]
fn missing_features_name_the_feature_to_enable() {
    let none = Compiled {
        sqlite: false,
        postgres: false,
        mysql: false,
        aws: false,
        otlp: false,
        rate_limit: false,
        cache: false,
    };
    for toml in [
        "[database]\nurl = \"postgres://db/x\"",
        "[telemetry]\notlp_endpoint = \"http://c:4318\"",
        "[rate_limit]\nenabled = true",
        "[cache]\nurl = \"redis://cache:6379\"",
        "[secrets.aws]\nregion = \"eu-west-1\"",
        "[secrets.aws]\nendpoint_url = \"http://localhost:5000\"",
    ] {
        let setting = super::features::missing(&config(toml), none).expect(toml);
        assert_specific(&setting, toml);
        assert!(setting.fix.contains("features = ["), "{setting}");
    }
}

#[test]
fn the_error_prints_the_rule_s_own_fix() {
    let figment = figment::Figment::new();
    let setting = crate::server::validate(&config("[server]\nbody_limit = 0").server)
        .expect_err("a zero body limit is refused");
    let text = ConfigError::invalid(&figment, setting).to_string();
    assert!(
        text.contains(
            "\n    fix: set it to the largest request body in bytes, e.g. `1048576` for 1 MiB \
             (SERVICEKIT__SERVER__BODY_LIMIT)"
        ),
        "{text}"
    );
    assert!(!text.contains(GENERAL_FIX), "{text}");
}
