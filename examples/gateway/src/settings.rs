//! The `[app]` section: the route table, releases, reload and CORS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The gateway's `[app]` section.
///
/// ```toml
/// [app.routes]
/// "/students" = "student-service"
/// "/subjects" = "subject-service"
///
/// [app.releases.student-service]
/// canary = "student-service-v2"   # another [clients.<name>] table
/// weight = 10                     # percent of requests
/// sticky = "cookie"               # or "client", or "none"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Path prefix -> upstream client name. A prefix matches itself and everything below it
    /// (`/students` matches `/students` and `/students/42`, not `/studentsx`); the longest
    /// matching prefix wins. Default: `/students` -> `student-service`, `/subjects` ->
    /// `subject-service`.
    pub routes: BTreeMap<String, String>,
    /// Release settings per upstream (by its client name): a canary and its weight.
    pub releases: BTreeMap<String, ReleaseConfig>,
    /// A TOML file holding `routes` and `releases` (top-level keys, same shape as here). When
    /// set, the route table is read from it instead of `[app]`, and read again on `SIGHUP`
    /// and whenever the file changes, without a restart.
    pub routes_file: Option<PathBuf>,
    /// How often `routes_file` is checked for changes (default `1s`; `0s`: on `SIGHUP` only).
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
    /// Cross-origin requests allowed at the edge.
    pub cors: CorsConfig,
}

impl Default for Settings {
    fn default() -> Self {
        let table = TableConfig::default();
        Self {
            routes: table.routes,
            releases: table.releases,
            routes_file: None,
            reload_interval: Duration::from_secs(1),
            cors: CorsConfig::default(),
        }
    }
}

impl Settings {
    /// The route table as configured in `[app]`.
    pub fn table(&self) -> TableConfig {
        TableConfig {
            routes: self.routes.clone(),
            releases: self.releases.clone(),
        }
    }
}

/// The part of the configuration that can change at run time: routes and releases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Path prefix -> upstream client name.
    #[serde(default = "default_routes")]
    pub routes: BTreeMap<String, String>,
    /// Release settings per upstream.
    #[serde(default)]
    pub releases: BTreeMap<String, ReleaseConfig>,
}

impl Default for TableConfig {
    fn default() -> Self {
        Self {
            routes: default_routes(),
            releases: BTreeMap::new(),
        }
    }
}

fn default_routes() -> BTreeMap<String, String> {
    [
        ("/students", crate::STUDENT_SERVICE),
        ("/subjects", crate::SUBJECT_SERVICE),
    ]
    .into_iter()
    .map(|(prefix, upstream)| (prefix.to_string(), upstream.to_string()))
    .collect()
}

/// How requests for one upstream are split between it (stable) and a canary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// The client name of the other version (a `[clients.<name>]` table).
    pub canary: String,
    /// Percent of requests sent to the canary, 0 to 100 (default 0). 100 is a blue/green
    /// switch to the canary.
    #[serde(default)]
    pub weight: u8,
    /// Whether one client keeps the version it was given (default `none`).
    #[serde(default)]
    pub sticky: Sticky,
}

/// Stickiness of the version a client gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    /// Each request is drawn by weight.
    #[default]
    None,
    /// The first answer sets a cookie naming the version; later requests with it keep it.
    Cookie,
    /// A hash of the client's key (the verified token's `sub`, else its IP address) picks
    /// the version: the same client always gets the same one for a given weight, on every
    /// gateway replica.
    Client,
}

/// `[app.cors]`: which other origins browsers may call the API from. Empty `allowed_origins`
/// (the default) answers no preflight and adds no CORS header.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed, e.g. `["https://app.example.org"]`; `["*"]` allows any (not together
    /// with `allow_credentials`).
    pub allowed_origins: Vec<String>,
    /// Methods allowed (default GET, POST, PUT, PATCH, DELETE).
    pub allowed_methods: Vec<String>,
    /// Request headers allowed (default `authorization`, `content-type`, `x-request-id`,
    /// `idempotency-key`).
    pub allowed_headers: Vec<String>,
    /// Whether browsers may send cookies and `Authorization` (default false).
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer (default `10m`).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allowed_headers: [
                "authorization",
                "content-type",
                "x-request-id",
                "idempotency-key",
            ]
            .map(String::from)
            .to_vec(),
            allow_credentials: false,
            max_age: Duration::from_secs(600),
        }
    }
}
