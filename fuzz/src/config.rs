//! Configuration text and secret references: arbitrary TOML through servicekit's extraction
//! and validation (`servicekit::config::fuzz_load_toml`, the startup path minus the environment
//! and secret fetching), and arbitrary text through `SecretRef::parse`. Must never panic, and
//! every error must name at least one key.

use servicekit::secrets::SecretRef;

/// One fuzz input through this target; panics on a violated property.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reference) = SecretRef::parse(text) {
        // A parsed reference round-trips through its own text.
        assert_eq!(reference.as_str(), text);
        let again = SecretRef::parse(reference.as_str()).expect("reparse");
        assert_eq!(again, reference);
        assert!(!reference.scheme().is_empty() && !reference.location().is_empty());
    }
    match servicekit::config::fuzz_load_toml(text) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
        }
    }
}
