//! The `[health]` configuration section and the rules serde cannot express.

use std::time::Duration;

use serde::Deserialize;

use crate::invalid::{InvalidSetting, absolute_path};

/// `[health]`: probe paths and check timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Liveness path (default `/health/live`); never checks dependencies.
    pub live_path: String,
    /// Readiness path (default `/health/ready`); runs the registered checks.
    pub ready_path: String,
    /// Startup path (default `/health/startup`); 503 until migrations and startup are done.
    pub startup_path: String,
    /// Longest a single readiness check may take before it counts as failed (default `2s`).
    #[serde(with = "humantime_serde")]
    pub check_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            live_path: "/health/live".into(),
            ready_path: "/health/ready".into(),
            startup_path: "/health/startup".into(),
            check_timeout: Duration::from_secs(2),
        }
    }
}

/// Checks the rules serde cannot express: each probe path is absolute. (That no two
/// operational endpoints share a path is checked where all of them are known, in `config`.)
pub(crate) fn validate(config: &HealthConfig) -> Result<(), InvalidSetting> {
    for (key, path) in [
        ("health.live_path", &config.live_path),
        ("health.ready_path", &config.ready_path),
        ("health.startup_path", &config.startup_path),
    ] {
        absolute_path(key, path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_paths_must_be_absolute() {
        assert_eq!(validate(&HealthConfig::default()), Ok(()));
        let relative = HealthConfig {
            startup_path: "health/startup".into(),
            ..HealthConfig::default()
        };
        assert_eq!(validate(&relative).unwrap_err().key, "health.startup_path");
    }
}
