//! The `[openapi]` configuration section, compiled with or without the `openapi` feature so
//! that a configuration file stays valid either way.

use serde::Deserialize;

use crate::invalid::InvalidSetting;

/// `[openapi]`: where the OpenAPI document registered with `ServiceBuilder::openapi` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenApiConfig {
    /// Path of the JSON document on the main port (default `/openapi.json`).
    pub path: String,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        Self {
            path: "/openapi.json".into(),
        }
    }
}

/// Checks the rules serde cannot express: the path is absolute.
pub(crate) fn validate(config: &OpenApiConfig) -> Result<(), InvalidSetting> {
    crate::invalid::absolute_path("openapi.path", &config.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_must_be_absolute() {
        assert_eq!(validate(&OpenApiConfig::default()), Ok(()));
        let relative = OpenApiConfig {
            path: "openapi.json".into(),
        };
        assert_eq!(validate(&relative).unwrap_err().key, "openapi.path");
    }
}
