//! The entry point of the `config` fuzz target (feature `fuzzing`, not a public API).

use figment::Figment;
use figment::providers::{Format, Toml};

use super::loader::Sources;
use super::walk::leaves;
use super::{Config, ConfigError};
use crate::secrets::SecretRef;

/// Loads `toml` as the only configuration source through the same extraction and validation
/// as a service's startup (without the environment and without resolving secrets), renders the
/// startup report, and parses every string value as a secret reference, as startup does for
/// values whose scheme has a provider. Used by `fuzz/fuzz_targets/config.rs`: it must return,
/// never panic.
#[doc(hidden)]
pub fn fuzz_load_toml(toml: &str) -> Result<Config, ConfigError> {
    let figment = Figment::from(Toml::string(toml));
    for (_, value) in leaves(&figment) {
        if let Some(text) = value.as_str() {
            // Only the parse matters here; a non-reference is an ordinary value.
            let _ = SecretRef::parse(text).map(|r| (r.scheme().len(), r.key().map(str::len)));
        }
    }
    let loaded = Sources::extract(figment, "fuzz", "dev")?;
    let _ = super::report(&loaded);
    Ok(loaded.config)
}
