//! The `application/health+json` body (draft-inadarei-api-health-check).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Media type of health responses.
pub const HEALTH_JSON: &str = "application/health+json";

/// The longest `output` a check may report; longer errors are cut.
const MAX_OUTPUT: usize = 200;

/// A check's or the service's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// An optional check failed; still ready.
    Warn,
    /// Unhealthy; the probe answers 503.
    Fail,
}

/// One check's result in the body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    status: Status,
    /// Latency of the check.
    observed_value: f64,
    observed_unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
}

impl CheckReport {
    pub(crate) fn new(status: Status, latency: Duration, output: Option<String>) -> Self {
        Self {
            status,
            observed_value: (latency.as_secs_f64() * 1e6).round() / 1e3,
            observed_unit: "ms",
            output: output.map(truncate),
        }
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// A health response: overall status, optional reason and per-check results.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    checks: BTreeMap<String, [CheckReport; 1]>,
}

impl Report {
    /// A report with no checks.
    pub(crate) fn with_output(status: Status, output: &str) -> Self {
        Self {
            status,
            output: Some(output.to_string()),
            checks: BTreeMap::new(),
        }
    }

    /// A passing report with no checks (liveness, startup).
    pub(crate) fn pass() -> Self {
        Self {
            status: Status::Pass,
            output: None,
            checks: BTreeMap::new(),
        }
    }

    pub(crate) fn from_checks(checks: Vec<(String, CheckReport)>) -> Self {
        let status = checks
            .iter()
            .map(|(_, c)| c.status)
            .fold(Status::Pass, |acc, s| match (acc, s) {
                (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
                (Status::Warn, _) | (_, Status::Warn) => Status::Warn,
                _ => Status::Pass,
            });
        let mut by_name = BTreeMap::new();
        for (name, report) in checks {
            // Two checks registered under one name both show, the second as `name#2`.
            let mut key = name.clone();
            let mut n = 1;
            while by_name.contains_key(&key) {
                n += 1;
                key = format!("{name}#{n}");
            }
            by_name.insert(key, [report]);
        }
        Self {
            status,
            output: None,
            checks: by_name,
        }
    }

    /// The overall status.
    pub fn status(&self) -> Status {
        self.status
    }
}

impl IntoResponse for Report {
    fn into_response(self) -> Response {
        let code = match self.status {
            Status::Fail => StatusCode::SERVICE_UNAVAILABLE,
            Status::Pass | Status::Warn => StatusCode::OK,
        };
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            code,
            [
                (header::CONTENT_TYPE, HEALTH_JSON),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}
